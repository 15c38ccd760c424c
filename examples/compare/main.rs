//! `cargo run --release --example compare -- [--quick] [--only SECTION] [--runs N] [--publish]`
//!
//! Every fencepost primitive against std and the best crates.io peers, measured side by
//! side in one run. Prints each row as it is measured and a summary at the end; writes
//! `report.md` and the chart `report.svg` into `fencepost-compare/` under the target
//! directory cargo uses (after every section, so an interrupted run keeps what it
//! measured); with `--publish`, also `BENCHMARKS.md`, the README's results block and the
//! charts in `docs/benchmarks/`. See `harness.rs` for how figures are taken, `report.rs`
//! for how they are written (`summary.rs`: the line per primitive; `chart.rs`: the SVGs).

#![allow(
    unreachable_pub,
    reason = "a binary: `pub` marks each file's interface"
)]

mod barrier;
mod chart;
mod cli;
mod condvar;
mod harness;
mod hash_map;
mod latency;
mod mutex;
mod provenance;
mod report;
mod rwlock;
mod semaphore;
mod seqlock;
mod spsc;
mod summary;

#[allow(dead_code)]
mod workloads;

use harness::{Harness, Progress, minutes};
use provenance::Provenance;
use report::{Run, Status, Written};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// A section of the comparison: its name (for `--only`), what runs it, and about how
/// many seconds a full run of it takes on the project's 2-vCPU machine (the first
/// estimate of the time left; later runs use what the previous run measured).
type Section = (&'static str, fn(&mut Harness), f64);

/// Every section, in the order a run measures them.
const SECTIONS: &[Section] = &[
    ("spsc", spsc::run, 50.0),
    ("mutex", mutex::run, 40.0),
    ("condvar", condvar::run, 30.0),
    ("rwlock", rwlock::run, 40.0),
    ("seqlock", seqlock::run, 25.0),
    ("semaphore", semaphore::run, 20.0),
    ("barrier", barrier::run, 20.0),
    ("hash_map", hash_map::run, 180.0),
];

const QUICK_WARNING: &str = "compare: --quick is a smoke run (samples a tenth of the size, 3 rounds): \
its ratios are NOT meaningful. Run without --quick for figures.";

fn main() -> ExitCode {
    let names: Vec<&'static str> = SECTIONS.iter().map(|s| s.0).collect();
    let opts = match cli::parse(std::env::args().skip(1), &names) {
        Ok(opts) => opts,
        Err(exit) if exit.code == 0 => {
            print!("{}", exit.message);
            return ExitCode::SUCCESS;
        }
        Err(exit) => {
            eprint!("{}", exit.message);
            return ExitCode::from(exit.code);
        }
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    if opts.publish {
        if let Err(e) = report::check_publishable(repo) {
            eprintln!("compare: --publish cannot write its results: {e}");
            return ExitCode::from(2);
        }
    }
    let out = target_dir(repo).join("fencepost-compare");
    if opts.quick {
        eprintln!("{QUICK_WARNING}");
    }
    match measure(&opts, repo, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::FAILURE
        }
    }
}

fn measure(opts: &cli::Options, repo: &Path, out: &Path) -> std::io::Result<()> {
    let mut estimates = Estimates::load(out, opts.quick);
    let started = Instant::now();
    let mut runs: Vec<Run> = Vec::new();
    let mut h = Harness::new(opts.quick);
    let n = opts.sections.len();
    for run in 1..=opts.runs {
        eprintln!(
            "run {run}/{}: provenance, and the core-to-core round trip",
            opts.runs
        );
        let provenance = Provenance::measure(repo, opts.quick);
        eprintln!(
            "run {run}/{}: {}, commit {}, {}, {}; core-to-core round trip {:.0} ns",
            opts.runs,
            provenance.date,
            provenance.commit,
            provenance.rustc,
            provenance.machine(),
            provenance.round_trip_ns
        );
        runs.push(Run {
            provenance,
            rows: Vec::new(),
        });
        for (i, &name) in opts.sections.iter().enumerate() {
            let later_runs = (opts.runs - run) as f64;
            let after_this_section = opts.sections[i + 1..]
                .iter()
                .map(|s| estimates.get(s))
                .sum::<f64>()
                + later_runs * opts.sections.iter().map(|s| estimates.get(s)).sum::<f64>();
            h.set_progress(Progress {
                section: i + 1,
                sections: n,
                name: name.into(),
                run,
                runs: opts.runs,
                started,
                after_this_section,
                this_section: estimates.get(name),
                section_started: Instant::now(),
            });
            let section_start = Instant::now();
            let run_section = SECTIONS.iter().find(|s| s.0 == name).expect("parsed").1;
            run_section(&mut h);
            estimates.set(name, section_start.elapsed().as_secs_f64());
            runs.last_mut().expect("pushed").rows = h.rows().to_vec();
            let status = Status {
                sections_done: i + 1,
                sections: n,
                run,
                runs: opts.runs,
            };
            let written = report::write_report(out, &runs, &status)?;
            eprintln!(
                "[{}section {}/{n} {name}] done in {}; {}",
                if opts.runs > 1 {
                    format!("run {run}/{} · ", opts.runs)
                } else {
                    String::new()
                },
                i + 1,
                minutes(section_start.elapsed().as_secs_f64()),
                match written {
                    Written::Files(_) => format!("written to {}", out.join("report.md").display()),
                    Written::NothingMeasured => "nothing measured, report left as it was".into(),
                }
            );
        }
        h.take_rows();
    }
    estimates.save(out);

    println!("\nSummary (ratio > 1: fencepost faster; median and range over the runs):");
    for line in summary::summarize(&runs) {
        println!("{}", line_text(&line));
    }
    if opts.quick {
        println!("\n{QUICK_WARNING}");
    }
    eprintln!(
        "\nreport: {} and report.svg ({} in all)",
        out.join("report.md").display(),
        minutes(started.elapsed().as_secs_f64())
    );
    if opts.publish {
        match report::publish(repo, &runs)? {
            Written::Files(files) => {
                for f in files {
                    eprintln!("published: {}", f.display());
                }
            }
            Written::NothingMeasured => eprintln!("compare: nothing measured, nothing published"),
        }
    }
    Ok(())
}

/// A summary line for the terminal: the markdown one without its bullet and bold.
fn line_text(s: &summary::Summary) -> String {
    let heads: Vec<String> = s
        .headlines
        .iter()
        .map(|v| match (v.median(), v.range()) {
            (Some(m), Some((lo, hi))) => {
                format!("{m:.2}x {} on {} [{lo:.2}..{hi:.2}]", v.peer, v.regime)
            }
            _ => format!("{}: no ratio", v.regime),
        })
        .collect();
    format!(
        "  {:<10} {}; rows: {} ahead, {} level, {} behind",
        s.primitive,
        heads.join("; "),
        s.ahead,
        s.level,
        s.behind
    )
}

/// The target directory cargo built this binary into (`CARGO_TARGET_DIR` or
/// `build.target-dir` included): the nearest ancestor of the executable that holds
/// cargo's `CACHEDIR.TAG`.
fn target_dir(repo: &Path) -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.join("CACHEDIR.TAG").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo.join("target"), PathBuf::from)
}

/// Seconds per section, from the previous run where there was one.
struct Estimates {
    quick: bool,
    seconds: HashMap<String, f64>,
}

impl Estimates {
    fn file(out: &Path) -> PathBuf {
        out.join("section-seconds.txt")
    }

    fn load(out: &Path, quick: bool) -> Estimates {
        let kind = if quick { "quick" } else { "full" };
        let seconds = std::fs::read_to_string(Self::file(out))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let (k, name, secs) = (w.next()?, w.next()?, w.next()?.parse().ok()?);
                (k == kind).then(|| (name.to_string(), secs))
            })
            .collect();
        Estimates { quick, seconds }
    }

    fn get(&self, name: &str) -> f64 {
        self.seconds.get(name).copied().unwrap_or_else(|| {
            let full = SECTIONS.iter().find(|s| s.0 == name).map_or(30.0, |s| s.2);
            if self.quick { full / 8.0 } else { full }
        })
    }

    fn set(&mut self, name: &str, secs: f64) {
        self.seconds.insert(name.to_string(), secs);
    }

    /// Keeps the other kind's lines (quick or full) and rewrites this kind's.
    fn save(&self, out: &Path) {
        let kind = if self.quick { "quick" } else { "full" };
        let mut lines: Vec<String> = std::fs::read_to_string(Self::file(out))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with(kind))
            .map(String::from)
            .collect();
        let mut mine: Vec<_> = self.seconds.iter().collect();
        mine.sort_by(|a, b| a.0.cmp(b.0));
        lines.extend(mine.iter().map(|(n, s)| format!("{kind} {n} {s:.1}")));
        let _ = std::fs::write(Self::file(out), lines.join("\n") + "\n");
    }
}
