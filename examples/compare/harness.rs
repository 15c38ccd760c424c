//! Side-by-side measurement: every candidate of a group runs in the same process, in
//! interleaved rounds (A B C A B C …), and each is reported by its median. Interleaving
//! matters on a shared VM: the host moves vCPUs and the core-to-core latency changes
//! several-fold between minutes, so only ratios taken within one run mean anything.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// One measurement: `ops` operations took `elapsed`.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub ops: u64,
    pub elapsed: Duration,
}

impl Sample {
    /// Times `f`, which performs `ops` operations.
    pub fn time(ops: u64, f: impl FnOnce()) -> Sample {
        let start = Instant::now();
        f();
        Sample {
            ops,
            elapsed: start.elapsed(),
        }
    }
}

/// How a group's figures read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    /// Millions of operations per second: higher is better.
    MopsPerSec,
    /// Nanoseconds per operation: lower is better.
    NsPerOp,
}

impl Unit {
    fn value(self, s: Sample) -> f64 {
        let ns = s.elapsed.as_nanos() as f64;
        match self {
            Unit::MopsPerSec => s.ops as f64 * 1e3 / ns.max(1.0),
            Unit::NsPerOp => ns / s.ops.max(1) as f64,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Unit::MopsPerSec => "M ops/s",
            Unit::NsPerOp => "ns/op",
        }
    }

    /// How many times better `ours` is than `other` (> 1: ours wins).
    fn ratio(self, ours: f64, other: f64) -> f64 {
        match self {
            Unit::MopsPerSec => ours / other,
            Unit::NsPerOp => other / ours,
        }
    }
}

/// A candidate: a name and a closure that runs the workload once and measures it.
pub type Candidate<'a> = (&'a str, Box<dyn FnMut(Scale) -> Sample + 'a>);

/// A candidate whose one run yields one figure per regime of a `group_multi`.
pub type MultiCandidate<'a> = (&'a str, Box<dyn FnMut(Scale) -> Vec<Sample> + 'a>);

/// How big one sample should be: `Scale::ops(full)` scales a full-run op count down for
/// `--quick`.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    quick: bool,
}

impl Scale {
    /// `full` operations normally, a tenth (at least 1) under `--quick`.
    pub fn ops(self, full: u64) -> u64 {
        if self.quick { (full / 10).max(1) } else { full }
    }
}

struct Row {
    primitive: String,
    regime: String,
    unit: Unit,
    /// (candidate, median, min, max); the first is ours.
    figures: Vec<(String, f64, f64, f64)>,
}

/// Collects the groups of one run and writes the report.
pub struct Harness {
    quick: bool,
    /// Interleaved rounds per group in a full run (`--quick`: 3).
    rounds: usize,
    only: Option<String>,
    rows: Vec<Row>,
}

impl Harness {
    pub fn from_args() -> Harness {
        let mut quick = false;
        let mut only = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--only" => only = Some(args.next().expect("--only needs a primitive name")),
                "-h" | "--help" => {
                    println!(
                        "usage: compare [--quick] [--only spsc|mutex|condvar|rwlock|semaphore|barrier|seqlock|hash_map]"
                    );
                    std::process::exit(0);
                }
                // cargo passes --bench when run as a bench; ignore what we do not know.
                _ => {}
            }
        }
        Harness {
            quick,
            rounds: 11,
            only,
            rows: Vec::new(),
        }
    }

    /// Sets the rounds per group of a full run (for groups whose samples are long) and
    /// returns the previous setting.
    pub fn set_rounds(&mut self, rounds: usize) -> usize {
        std::mem::replace(&mut self.rounds, rounds.max(1))
    }

    /// Whether `primitive`'s groups should run.
    pub fn wants(&self, primitive: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == primitive)
    }

    /// Measures every candidate in interleaved rounds and records the medians. The first
    /// candidate is ours; the others are shown with ours/theirs ratios, and with the ratio
    /// against the best of them.
    pub fn group(
        &mut self,
        primitive: &str,
        regime: &str,
        unit: Unit,
        mut candidates: Vec<Candidate<'_>>,
    ) {
        let multi = candidates
            .iter_mut()
            .map(|(name, run)| -> MultiCandidate<'_> { (*name, Box::new(move |s| vec![run(s)])) })
            .collect();
        self.group_multi(primitive, &[regime], unit, multi);
    }

    /// Like `group`, for workloads whose one run yields several figures (say latency
    /// percentiles): figure `j` of every run goes to the row `regimes[j]`, so all the rows
    /// come from the same interleaved runs.
    pub fn group_multi(
        &mut self,
        primitive: &str,
        regimes: &[&str],
        unit: Unit,
        mut candidates: Vec<MultiCandidate<'_>>,
    ) {
        let rounds = if self.quick { 3 } else { self.rounds };
        let scale = Scale { quick: self.quick };
        let label = regimes.join(", ");
        // samples[j][i]: regime j, candidate i.
        let mut samples: Vec<Vec<Vec<f64>>> =
            vec![vec![Vec::new(); candidates.len()]; regimes.len()];
        // A workload may pin the calling thread; every sample starts unpinned, so that
        // the threads it spawns can be placed on any CPU.
        for (_, run) in candidates.iter_mut() {
            crate::workloads::pin::unpin();
            run(scale); // warm-up: page faults, thread start-up, frequency
        }
        for round in 0..rounds {
            eprint!("\r{primitive} / {label}: round {}/{rounds}   ", round + 1);
            for (i, (_, run)) in candidates.iter_mut().enumerate() {
                crate::workloads::pin::unpin();
                let figures = run(scale);
                assert_eq!(figures.len(), regimes.len(), "one figure per regime");
                for (j, f) in figures.into_iter().enumerate() {
                    samples[j][i].push(unit.value(f));
                }
            }
        }
        crate::workloads::pin::unpin();
        eprintln!("\r{primitive} / {label}: done{}", " ".repeat(20));
        for (regime, per_candidate) in regimes.iter().zip(samples) {
            let figures = candidates
                .iter()
                .zip(per_candidate)
                .map(|((name, _), mut s)| {
                    s.sort_by(f64::total_cmp);
                    (name.to_string(), s[s.len() / 2], s[0], s[s.len() - 1])
                })
                .collect::<Vec<_>>();
            let row = Row {
                primitive: primitive.into(),
                regime: (*regime).into(),
                unit,
                figures,
            };
            print_row(&row);
            self.rows.push(row);
        }
    }

    /// How many times better ours is, in the row recorded last, than the peer named
    /// `against`, or than the best peer when `None`.
    pub fn last_ratio(&self, against: Option<&str>) -> f64 {
        let row = self.rows.last().expect("a row was recorded");
        Self::row_ratio(row, against)
    }

    /// As [`last_ratio`](Self::last_ratio), for the latest row named `regime`.
    pub fn ratio_of(&self, regime: &str, against: Option<&str>) -> f64 {
        let row = self
            .rows
            .iter()
            .rev()
            .find(|r| r.regime == regime)
            .unwrap_or_else(|| panic!("no row named {regime}"));
        Self::row_ratio(row, against)
    }

    fn row_ratio(row: &Row, against: Option<&str>) -> f64 {
        let ours = row.figures[0].1;
        let theirs = match against {
            Some(name) => {
                row.figures
                    .iter()
                    .find(|f| f.0 == name)
                    .unwrap_or_else(|| panic!("no candidate named {name}"))
                    .1
            }
            None => best_peer(row).map_or(ours, |b| b.1),
        };
        row.unit.ratio(ours, theirs)
    }

    /// Writes `target/fencepost-compare/report.md` and `report.svg`.
    pub fn finish(self) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fencepost-compare");
        std::fs::create_dir_all(&dir).expect("create target/fencepost-compare");
        std::fs::write(dir.join("report.md"), markdown(&self.rows, self.quick))
            .expect("write report.md");
        std::fs::write(dir.join("report.svg"), svg(&self.rows)).expect("write report.svg");
        eprintln!("wrote {}/report.md and report.svg", dir.display());
    }
}

fn print_row(row: &Row) {
    let ours = row.figures[0].1;
    println!(
        "\n{} / {} ({})",
        row.primitive,
        row.regime,
        row.unit.label()
    );
    for (name, median, lo, hi) in &row.figures {
        let ratio = row.unit.ratio(ours, *median);
        println!("  {name:<28} {median:>10.2}   [{lo:.2} .. {hi:.2}]   fencepost is {ratio:.2}x");
    }
    if let Some((name, median)) = best_peer(row) {
        println!(
            "  best peer: {name}; fencepost is {:.2}x",
            row.unit.ratio(ours, median)
        );
    }
}

/// Whether a candidate is a peer: not one of our own variants ("fencepost, …") and not
/// a reference point such as a plain copy or a ping-pong floor, which no real
/// primitive can beat and which are there to show the distance to the hardware.
fn is_peer(name: &str) -> bool {
    !name.starts_with("fencepost") && !name.contains("floor")
}

/// The best of the peers (candidates after the first that [`is_peer`]) by the row's
/// unit, if there are at least two peers.
fn best_peer(row: &Row) -> Option<(&str, f64)> {
    let peers = || row.figures[1..].iter().filter(|f| is_peer(&f.0));
    if peers().count() < 2 {
        return None;
    }
    peers()
        .map(|(name, median, _, _)| (name.as_str(), *median))
        // ratio(a, b) > 1: a is better than b.
        .max_by(|a, b| row.unit.ratio(a.1, b.1).total_cmp(&1.0))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn markdown(rows: &[Row], quick: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# fencepost comparison\n\nMachine: {}.{}\n",
        machine(),
        if quick {
            " `--quick` smoke run: figures are not meaningful."
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "Medians of interleaved rounds in one run. Ratio: how many times better fencepost is (> 1 = faster).\n"
    );
    let _ = writeln!(
        s,
        "| primitive | regime | unit | candidate | median | ratio |"
    );
    let _ = writeln!(s, "|---|---|---|---|---:|---:|");
    for row in rows {
        let ours = row.figures[0].1;
        for (name, median, _, _) in &row.figures {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2} | {:.2}x |",
                row.primitive,
                row.regime,
                row.unit.label(),
                name,
                median,
                row.unit.ratio(ours, *median)
            );
        }
        if let Some((name, median)) = best_peer(row) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | **best peer** ({}) | {:.2} | **{:.2}x** |",
                row.primitive,
                row.regime,
                row.unit.label(),
                name,
                median,
                row.unit.ratio(ours, median)
            );
        }
    }
    s
}

fn svg(rows: &[Row]) -> String {
    // One block per group: a bar per candidate, length = its figure relative to the
    // group's best (so longer is always better), labelled with the figure.
    let bar_h = 16;
    let width = 900;
    let label_w = 330;
    let mut y = 30;
    let mut body = String::new();
    for row in rows {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-weight="bold">{} / {} ({})</text>"#,
            esc(&row.primitive),
            esc(&row.regime),
            row.unit.label()
        );
        y += 8;
        let goodness: Vec<f64> = row
            .figures
            .iter()
            .map(|f| {
                if row.unit == Unit::MopsPerSec {
                    f.1
                } else {
                    1.0 / f.1.max(1e-9)
                }
            })
            .collect();
        let best = goodness.iter().cloned().fold(f64::MIN, f64::max).max(1e-12);
        for (i, (name, median, _, _)) in row.figures.iter().enumerate() {
            let w = ((goodness[i] / best) * (width - label_w - 120) as f64).max(1.0);
            let color = if i == 0 { "#2a7ab0" } else { "#9a9a9a" };
            let _ = writeln!(
                body,
                r#"<text x="20" y="{}" font-size="12">{}</text>"#,
                y + 12,
                esc(name)
            );
            let _ = writeln!(
                body,
                r#"<rect x="{label_w}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{color}"/>"#
            );
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{}" font-size="12">{median:.2}</text>"#,
                label_w as f64 + w + 6.0,
                y + 12
            );
            y += bar_h + 4;
        }
        y += 24;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" font-family=\"sans-serif\">\n<text x=\"10\" y=\"16\" font-size=\"13\">fencepost vs std and peers: bars relative to the best in each group (longer is better). {}</text>\n{body}</svg>\n",
        y + 10,
        esc(&machine())
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub use crate::workloads::pin::pin_to_cpu;
