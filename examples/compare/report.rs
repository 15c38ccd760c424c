//! What a run writes: `report.md` and `report.svg` under the target directory (after
//! every finished section, so an interrupted run keeps what it measured), and with
//! `--publish` the committed results: `BENCHMARKS.md`, the README's summary block and
//! the two charts in `docs/benchmarks/`.
//!
//! Every ratio reads one way: how many times faster fencepost is than the candidate
//! (its throughput over theirs, or their time over its), so > 1 means fencepost wins in
//! every row, whatever the unit.

use crate::chart::{chart_full, chart_summary};
use crate::harness::{Figure, Row};
use crate::provenance::Provenance;
use crate::summary::{same_rows, summarize};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// One complete (or, for the last one, possibly partial) run.
#[derive(Clone, Debug)]
pub struct Run {
    pub provenance: Provenance,
    pub rows: Vec<Row>,
}

/// How far the invocation got, for the report's status line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    /// Sections finished in the current run, and how many it has.
    pub sections_done: usize,
    pub sections: usize,
    /// The current run (1-based) and how many there are.
    pub run: usize,
    pub runs: usize,
}

impl Status {
    fn complete(&self) -> bool {
        self.sections_done == self.sections && self.run == self.runs
    }

    fn line(&self) -> String {
        if self.complete() {
            format!(
                "complete: {} of {} sections, {} run{}",
                self.sections,
                self.sections,
                self.runs,
                if self.runs == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "PARTIAL: run {} of {}, {} of {} sections written so far (the run is still going, or was interrupted)",
                self.run, self.runs, self.sections_done, self.sections
            )
        }
    }
}

/// The command that wrote the committed results (`runs` complete runs).
pub fn publish_command(runs: usize) -> String {
    format!("cargo run --release --example compare -- --runs {runs} --publish")
}
const HOW_TO_READ: &str = "Each figure is the median of interleaved rounds (every candidate of a row measured in turn, round after round, in one process), with the range of the rounds beside it. **fencepost is** says how many times faster fencepost is than that candidate: its throughput divided by theirs (M ops/s), or their time divided by its (ns/op), so above 1 fencepost is faster in every row, whatever the unit. The **best peer** is the fastest candidate that is neither one of fencepost's own variants nor a hardware floor (a plain copy, a ping-pong of two atomics). Only ratios mean anything: the machines are shared, and the core-to-core round trip (in the provenance) moves the two-thread rows several-fold between runs.";

fn quick_warning() -> &'static str {
    "> **`--quick` smoke run: samples a tenth of the size, 3 rounds. The ratios are NOT meaningful; run without `--quick` for figures.**\n"
}

fn provenance_table(runs: &[Run]) -> String {
    let mut s = String::from(
        "| run | date | commit | rustc | machine | core-to-core round trip |\n|---:|---|---|---|---|---:|\n",
    );
    for (i, run) in runs.iter().enumerate() {
        let p = &run.provenance;
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {:.0} ns |",
            i + 1,
            p.date,
            p.commit,
            p.rustc,
            p.machine(),
            p.round_trip_ns
        );
    }
    s
}

fn summary_lines(runs: &[Run]) -> String {
    let mut s = String::new();
    for line in summarize(runs) {
        let _ = writeln!(s, "{}", line.markdown());
    }
    s
}

/// The full table of the last run, one section per primitive, with the range of each
/// ratio over the runs when there are several.
fn tables(runs: &[Run]) -> String {
    let Some(last) = runs.last() else {
        return String::new();
    };
    let several = runs.len() > 1;
    let mut s = String::new();
    let mut primitive = "";
    for row in &last.rows {
        if row.primitive != primitive {
            primitive = &row.primitive;
            let _ = writeln!(s, "\n### {primitive}\n");
            let _ = writeln!(
                s,
                "| regime | candidate | median | rounds' range | fencepost is |{}",
                if several { " over the runs |" } else { "" }
            );
            let _ = writeln!(
                s,
                "|---|---|---:|---:|---:|{}",
                if several { "---:|" } else { "" }
            );
        }
        let same = same_rows(runs, &row.primitive, &row.regime);
        let regime = format!(
            "{} ({}, {})",
            row.regime,
            row.unit.label(),
            row.unit.better()
        );
        let mut line = |name: String, f: &Figure, bold: bool| {
            let ratio = row.versus_text(f);
            let ratio = if bold { format!("**{ratio}**") } else { ratio };
            let _ = write!(
                s,
                "| {regime} | {name} | {} | {}–{} | {ratio} |",
                num(f.median),
                num(f.min),
                num(f.max)
            );
            if several {
                let r: Vec<f64> = same
                    .iter()
                    .filter_map(|r| {
                        let theirs = r.figures.iter().find(|g| g.name == f.name)?;
                        r.versus(theirs).ok()
                    })
                    .collect();
                let lo = r.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if r.is_empty() {
                    let _ = write!(s, " – |");
                } else {
                    let _ = write!(s, " {lo:.2}–{hi:.2}x |");
                }
            }
            s.push('\n');
        };
        for f in &row.figures {
            line(f.name.clone(), f, false);
        }
        if let Some(best) = row.best_peer() {
            line(format!("**best peer** ({})", best.name), best, true);
        }
    }
    s
}

/// A figure with as many decimals as it needs: `142.14`, `0.41`, `20153`.
fn num(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// `report.md`: everything measured so far.
pub fn report_markdown(runs: &[Run], status: &Status) -> String {
    let quick = runs.iter().any(|r| r.provenance.quick);
    let mut s = String::from("# fencepost comparison\n\n");
    if quick {
        s.push_str(quick_warning());
        s.push('\n');
    }
    let _ = writeln!(s, "Status: {}.\n", status.line());
    let _ = writeln!(s, "## Provenance\n\n{}", provenance_table(runs));
    let _ = writeln!(s, "## How to read it\n\n{HOW_TO_READ}\n");
    let _ = writeln!(s, "## Summary\n\n{}", summary_lines(runs));
    let _ = writeln!(s, "## Every row\n{}", tables(runs));
    s
}

/// `BENCHMARKS.md`: the committed full results.
pub fn benchmarks_markdown(runs: &[Run]) -> String {
    let mut s = String::from("# fencepost benchmarks\n\n");
    let _ = writeln!(
        s,
        "Generated by `{}`, which also writes the README's results summary and the charts in `docs/benchmarks/`; do not edit by hand. {}\n",
        publish_command(runs.len()),
        if runs.len() == 1 {
            "The run below measured every section.".to_string()
        } else {
            format!(
                "Each of the {} runs below measured every section; the tables are the last run's, with the range of each ratio over all the runs.",
                runs.len()
            )
        }
    );
    let _ = writeln!(s, "## Provenance\n\n{}", provenance_table(runs));
    let _ = writeln!(s, "## How to read it\n\n{HOW_TO_READ}\n");
    let _ = writeln!(s, "## Summary\n\n{}", summary_lines(runs));
    let _ = writeln!(
        s,
        "![every row: how many times faster fencepost is than each candidate](docs/benchmarks/full.svg)\n"
    );
    let _ = writeln!(s, "## Every row\n{}", tables(runs));
    s
}

pub const README_BEGIN: &str = "<!-- compare:summary:begin -->";
pub const README_END: &str = "<!-- compare:summary:end -->";

/// The README's results block (between the markers, which stay).
pub fn readme_block(runs: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!-- generated by `{}`; do not edit between the markers -->",
        publish_command(runs.len())
    );
    let first = &runs[0].provenance;
    let (lo, hi) = runs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
        (
            lo.min(r.provenance.round_trip_ns),
            hi.max(r.provenance.round_trip_ns),
        )
    });
    let round_trip = if runs.len() == 1 {
        format!("{lo:.0} ns")
    } else {
        format!("{lo:.0}–{hi:.0} ns")
    };
    let _ = writeln!(
        s,
        "{} run{} on {}, {}, commit `{}`, {} (core-to-core round trip {round_trip}). Each line: fencepost's headline ratios against the best peer (above 1: fencepost faster), the median and range over the runs, and how it stands on all of that primitive's rows.\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        first.date.split(' ').next().unwrap_or(""),
        first.machine(),
        runs.last().map_or("", |r| r.provenance.commit.as_str()),
        first.rustc,
    );
    s.push_str(&summary_lines(runs));
    let _ = writeln!(
        s,
        "\n![headline ratios against the best peer](docs/benchmarks/summary.svg)\n\nEvery row, with each figure's spread and the provenance of every run: [BENCHMARKS.md](BENCHMARKS.md)."
    );
    s
}

/// `readme` with the text between the markers replaced by `block`.
pub fn replace_block(readme: &str, block: &str) -> Result<String, String> {
    let begin = readme
        .find(README_BEGIN)
        .ok_or_else(|| format!("README.md has no {README_BEGIN} line"))?;
    let end = readme
        .find(README_END)
        .ok_or_else(|| format!("README.md has no {README_END} line"))?;
    if end < begin {
        return Err(format!("README.md has {README_END} before {README_BEGIN}"));
    }
    let after_begin = begin + README_BEGIN.len();
    Ok(format!(
        "{}\n{}{}",
        &readme[..after_begin],
        block,
        &readme[end..]
    ))
}

// ---- writing ------------------------------------------------------------------------

/// What a write did.
#[derive(Debug, PartialEq)]
pub enum Written {
    Files(Vec<PathBuf>),
    /// Nothing was measured: every existing file was left as it was.
    NothingMeasured,
}

/// Writes `path` whole or not at all (a temporary file renamed over it), so an
/// interrupted run never leaves half a report.
fn write_atomic(path: &Path, contents: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Writes `report.md`, `report.svg` (every row) and `report-summary.svg` (the headline
/// rows) into `dir`, unless nothing was measured.
pub fn write_report(dir: &Path, runs: &[Run], status: &Status) -> io::Result<Written> {
    if runs.iter().all(|r| r.rows.is_empty()) {
        return Ok(Written::NothingMeasured);
    }
    std::fs::create_dir_all(dir)?;
    let files = [
        (dir.join("report.md"), report_markdown(runs, status)),
        (dir.join("report.svg"), chart_full(runs)),
        (dir.join("report-summary.svg"), chart_summary(runs)),
    ];
    for (path, contents) in &files {
        write_atomic(path, contents)?;
    }
    Ok(Written::Files(files.into_iter().map(|(p, _)| p).collect()))
}

/// Checks, before a run, that `--publish` will be able to write its results.
pub fn check_publishable(repo: &Path) -> Result<(), String> {
    let readme = std::fs::read_to_string(repo.join("README.md"))
        .map_err(|e| format!("cannot read README.md: {e}"))?;
    replace_block(&readme, "").map(drop)
}

/// Writes `BENCHMARKS.md`, the README block and the two charts into the repository.
pub fn publish(repo: &Path, runs: &[Run]) -> io::Result<Written> {
    if runs.is_empty() || runs.iter().any(|r| r.rows.is_empty() || r.provenance.quick) {
        return Ok(Written::NothingMeasured);
    }
    let readme_path = repo.join("README.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let readme = replace_block(&readme, &readme_block(runs))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let charts = repo.join("docs/benchmarks");
    std::fs::create_dir_all(&charts)?;
    let files = [
        (repo.join("BENCHMARKS.md"), benchmarks_markdown(runs)),
        (charts.join("full.svg"), chart_full(runs)),
        (charts.join("summary.svg"), chart_summary(runs)),
        (readme_path, readme),
    ];
    for (path, contents) in &files {
        write_atomic(path, contents)?;
    }
    Ok(Written::Files(files.into_iter().map(|(p, _)| p).collect()))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Unit;

    fn prov(quick: bool, round_trip_ns: f64) -> Provenance {
        Provenance {
            date: "2026-12-06 12:00 UTC".into(),
            commit: "abc1234".into(),
            rustc: "rustc 1.95.0".into(),
            cpu: "Test CPU".into(),
            cpus: 2,
            platform: "linux x86_64".into(),
            round_trip_ns,
            quick,
        }
    }

    /// A figure from 1000 operations, or from none where `median` is 0 (starved).
    fn fig(name: &str, median: f64) -> Figure {
        Figure {
            name: name.into(),
            median,
            min: median * 0.9,
            max: median * 1.1,
            median_ops: if median == 0.0 { 0 } else { 1000 },
        }
    }

    fn row(primitive: &str, regime: &str, unit: Unit, figs: &[(&str, f64)]) -> Row {
        Row {
            primitive: primitive.into(),
            regime: regime.into(),
            unit,
            figures: figs.iter().map(|(n, m)| fig(n, *m)).collect(),
        }
    }

    fn run(quick: bool, spsc_rtrb: f64) -> Run {
        Run {
            provenance: prov(quick, 100.0),
            rows: vec![
                row(
                    "spsc",
                    "streaming, capacity 4096",
                    Unit::MopsPerSec,
                    &[
                        ("fencepost", 140.0),
                        ("rtrb", spsc_rtrb),
                        ("crossbeam ArrayQueue", 50.0),
                    ],
                ),
                row(
                    "spsc",
                    "round trip, two queues + echo thread",
                    Unit::NsPerOp,
                    &[
                        ("fencepost", 80.0),
                        ("ping-pong floor (two atomics)", 100.0),
                        ("rtrb", 120.0),
                        ("std sync_channel", 300.0),
                    ],
                ),
                row(
                    "mutex",
                    "fairness: slowest of 8 threads, M acquisitions/s",
                    Unit::MopsPerSec,
                    &[
                        ("fencepost", 0.96),
                        ("parking_lot::Mutex", 1.07),
                        ("spin::Mutex", 0.0),
                    ],
                ),
            ],
        }
    }

    fn status(done: usize, of: usize) -> Status {
        Status {
            sections_done: done,
            sections: of,
            run: 1,
            runs: 1,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fencepost-compare-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_empty_run_leaves_the_previous_report_in_place() {
        let dir = scratch("empty");
        let written = write_report(&dir, &[run(false, 150.0)], &status(1, 1)).unwrap();
        assert!(matches!(written, Written::Files(_)));
        let before = std::fs::read_to_string(dir.join("report.md")).unwrap();
        let empty = Run {
            provenance: prov(false, 100.0),
            rows: Vec::new(),
        };
        assert_eq!(
            write_report(&dir, &[empty], &status(0, 1)).unwrap(),
            Written::NothingMeasured
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("report.md")).unwrap(),
            before
        );
        assert_eq!(
            publish(&dir, &[]).unwrap(),
            Written::NothingMeasured,
            "publish writes nothing without runs"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_partial_report_says_so_and_a_quick_one_warns() {
        let md = report_markdown(&[run(true, 150.0)], &status(2, 6));
        assert!(md.contains("PARTIAL: run 1 of 1, 2 of 6 sections"), "{md}");
        assert!(md.contains("The ratios are NOT meaningful"), "{md}");
        assert!(chart_full(&[run(true, 150.0)]).contains("NOT meaningful"));
        let md = report_markdown(&[run(false, 150.0)], &status(6, 6));
        assert!(md.contains("Status: complete"), "{md}");
        assert!(!md.contains("NOT meaningful"));
    }

    #[test]
    fn reports_carry_their_provenance() {
        let md = report_markdown(&[run(false, 150.0)], &status(1, 1));
        for needle in [
            "2026-12-06 12:00 UTC",
            "`abc1234`",
            "rustc 1.95.0",
            "Test CPU, 2 CPUs, linux x86_64",
            "100 ns",
        ] {
            assert!(md.contains(needle), "{needle} missing from\n{md}");
        }
        for svg in [
            chart_full(&[run(false, 150.0)]),
            chart_summary(&[run(false, 150.0)]),
        ] {
            for needle in [
                "2026-12-06 12:00 UTC",
                "abc1234",
                "rustc 1.95.0",
                "Test CPU",
                "100 ns",
            ] {
                assert!(svg.contains(needle), "{needle} missing from a chart");
            }
        }
    }

    #[test]
    fn starved_rows_say_what_happened() {
        let md = report_markdown(&[run(false, 150.0)], &status(1, 1));
        assert!(
            md.contains(
                "| spin::Mutex | 0.00 | 0.00–0.00 | starved: 0 operations in the median sample |"
            ),
            "{md}"
        );
        assert!(!md.contains("inf"), "{md}");
        assert!(chart_full(&[run(false, 150.0)]).contains("starved: 0 operations"));
    }

    #[test]
    fn ratios_read_the_same_way_for_time_and_throughput() {
        let md = report_markdown(&[run(false, 150.0)], &status(1, 1));
        // 140 vs 150 M ops/s: slower; 80 vs 120 ns: faster.
        assert!(
            md.contains("| rtrb | 150.00 | 135.00–165.00 | 0.93x |"),
            "{md}"
        );
        assert!(
            md.contains("| rtrb | 120.00 | 108.00–132.00 | 1.50x |"),
            "{md}"
        );
    }

    #[test]
    fn the_summary_gives_the_headline_with_its_range_over_runs() {
        let runs = [run(false, 150.0), run(false, 100.0), run(false, 140.0)];
        let s = summarize(&runs);
        assert_eq!(s.len(), 2);
        let spsc = &s[0];
        assert_eq!(
            spsc.headlines[0].regime,
            "round trip, two queues + echo thread"
        );
        assert_eq!(spsc.headlines[1].median(), Some(1.0));
        assert_eq!(spsc.headlines[1].range(), Some((140.0 / 150.0, 1.4)));
        assert_eq!((spsc.ahead, spsc.level, spsc.behind), (1, 1, 0));
        let line = spsc.markdown();
        assert!(
            line.contains("1.00x rtrb on \"streaming, capacity 4096\" (0.93–1.40x over 3 runs)"),
            "{line}"
        );
        // The mutex row: best peer parking_lot (spin starved is not best).
        assert_eq!(s[1].headlines[0].peer, "parking_lot::Mutex");
        assert_eq!((s[1].ahead, s[1].level, s[1].behind), (0, 0, 1));
    }

    #[test]
    fn the_readme_block_is_replaced_between_its_markers_only() {
        let readme = format!("intro\n{README_BEGIN}\nold\n{README_END}\noutro\n");
        let new = replace_block(&readme, "new\n").unwrap();
        assert_eq!(
            new,
            format!("intro\n{README_BEGIN}\nnew\n{README_END}\noutro\n")
        );
        assert!(replace_block("no markers", "x").is_err());
        assert!(replace_block(&format!("{README_END}\n{README_BEGIN}"), "x").is_err());
    }

    #[test]
    fn publish_writes_every_file_and_refuses_quick_runs() {
        let dir = scratch("publish");
        let readme = format!("# x\n{README_BEGIN}\nold\n{README_END}\n");
        std::fs::write(dir.join("README.md"), &readme).unwrap();
        assert_eq!(
            publish(&dir, &[run(true, 150.0)]).unwrap(),
            Written::NothingMeasured
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("README.md")).unwrap(),
            readme
        );
        let runs = [run(false, 150.0), run(false, 130.0)];
        assert!(matches!(publish(&dir, &runs).unwrap(), Written::Files(f) if f.len() == 4));
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("2 runs on 2026-12-06"), "{readme}");
        assert!(readme.contains("docs/benchmarks/summary.svg"));
        assert!(readme.ends_with(&format!("{README_END}\n")));
        let bench = std::fs::read_to_string(dir.join("BENCHMARKS.md")).unwrap();
        assert!(bench.contains("cargo run --release --example compare -- --runs 2 --publish"));
        assert!(bench.contains("over the runs"));
        assert!(dir.join("docs/benchmarks/full.svg").exists());
        assert!(dir.join("docs/benchmarks/summary.svg").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
