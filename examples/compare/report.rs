//! What a run writes: `report.md` and `report.svg` under the target directory (after
//! every finished section, so an interrupted run keeps what it measured), and with
//! `--publish` the committed results: `BENCHMARKS.md`, the README's summary block and
//! the two charts in `docs/benchmarks/`.
//!
//! Every ratio reads one way: how many times faster fencepost is than the candidate
//! (its throughput over theirs, or their time over its), so > 1 means fencepost wins in
//! every row, whatever the unit.

use crate::harness::{Figure, Row, Unit};
use crate::provenance::Provenance;
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

/// The rows a summary line is about, per primitive (the first that exists is shown
/// first). A primitive without one here gets its first row that has a peer.
const HEADLINES: &[(&str, &[&str])] = &[
    (
        "spsc",
        &[
            "round trip, two queues + echo thread",
            "streaming, capacity 4096",
        ],
    ),
    (
        "mutex",
        &[
            "8 threads (oversubscribed), cs ~100 ns",
            "2 threads, cs ~100 ns",
        ],
    ),
    (
        "seqlock",
        &[
            "uncontended read, 64 B",
            "reads/s, 64 B, writer at ~1 M writes/s (2 threads)",
        ],
    ),
    (
        "semaphore",
        &[
            "4 threads on 2 permits",
            "8 threads on 2 permits (oversubscribed)",
        ],
    ),
    (
        "barrier",
        &[
            "2 threads, ns per generation",
            "8 threads (oversubscribed on 2 cores), ns per generation",
        ],
    ),
    (
        "hash_map",
        &[
            "get hit, 1 thread, 1M keys (SipHash)",
            "read-heavy 98/1/1/0, 2 threads (SipHash)",
        ],
    ),
];

/// Within this factor of 1 a ratio counts as level.
const LEVEL: f64 = 1.05;

/// fencepost against a row's headline peer, over the runs that have the row.
#[derive(Clone, Debug, PartialEq)]
pub struct Versus {
    pub primitive: String,
    pub regime: String,
    /// The peer of the last run that has the row, and the others that were best in
    /// some run.
    pub peer: String,
    pub other_peers: Vec<String>,
    /// The ratio in each run that has the row (what happened instead, where a figure
    /// was zero).
    pub ratios: Vec<Result<f64, String>>,
}

impl Versus {
    fn finite(&self) -> Vec<f64> {
        let mut r: Vec<f64> = self.ratios.iter().filter_map(|r| r.clone().ok()).collect();
        r.sort_by(f64::total_cmp);
        r
    }

    /// The median ratio over the runs, if any run gave one.
    pub fn median(&self) -> Option<f64> {
        let r = self.finite();
        (!r.is_empty()).then(|| r[r.len() / 2])
    }

    /// The lowest and highest ratio over the runs.
    pub fn range(&self) -> Option<(f64, f64)> {
        let r = self.finite();
        Some((*r.first()?, *r.last()?))
    }

    fn text(&self) -> String {
        let peer = if self.other_peers.is_empty() {
            self.peer.clone()
        } else {
            format!(
                "{} (best in other runs: {})",
                self.peer,
                self.other_peers.join(", ")
            )
        };
        let Some(median) = self.median() else {
            let what = self.ratios.last().and_then(|r| r.clone().err());
            return format!(
                "{}: {}",
                self.regime,
                what.unwrap_or_else(|| "no ratio".into())
            );
        };
        let spread = match self.range() {
            Some((lo, hi)) if self.ratios.len() > 1 => {
                format!(" ({lo:.2}–{hi:.2}x over {} runs)", self.ratios.len())
            }
            _ => " (one run)".into(),
        };
        format!("{median:.2}x {peer} on \"{}\"{spread}", self.regime)
    }
}

/// One primitive's line.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub primitive: String,
    pub headlines: Vec<Versus>,
    /// Rows against their headline peer, by the median ratio over the runs.
    pub ahead: usize,
    pub level: usize,
    pub behind: usize,
}

impl Summary {
    fn markdown(&self) -> String {
        let heads: Vec<String> = self.headlines.iter().map(Versus::text).collect();
        format!(
            "- **{}**: {}. Against the best peer on all {} rows: {} ahead, {} level (within 5%), {} behind.",
            self.primitive,
            heads.join("; "),
            self.ahead + self.level + self.behind,
            self.ahead,
            self.level,
            self.behind
        )
    }
}

/// Every row of every run that matches `primitive`/`regime`, oldest run first.
fn same_rows<'a>(runs: &'a [Run], primitive: &str, regime: &str) -> Vec<&'a Row> {
    runs.iter()
        .filter_map(|run| {
            run.rows
                .iter()
                .find(|r| r.primitive == primitive && r.regime == regime)
        })
        .collect()
}

fn versus(runs: &[Run], primitive: &str, regime: &str) -> Option<Versus> {
    let rows = same_rows(runs, primitive, regime);
    let peers: Vec<&Figure> = rows.iter().filter_map(|r| r.headline_peer()).collect();
    let peer = peers.last()?.name.clone();
    let mut other_peers: Vec<String> = Vec::new();
    for p in &peers {
        if p.name != peer && !other_peers.contains(&p.name) {
            other_peers.push(p.name.clone());
        }
    }
    let ratios = rows
        .iter()
        .filter_map(|r| r.headline_peer().map(|p| r.versus(p)))
        .collect();
    Some(Versus {
        primitive: primitive.into(),
        regime: regime.into(),
        peer,
        other_peers,
        ratios,
    })
}

/// The primitives in the order the rows first name them.
fn primitives(runs: &[Run]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for row in runs.iter().flat_map(|r| &r.rows) {
        if !names.contains(&row.primitive) {
            names.push(row.primitive.clone());
        }
    }
    names
}

/// One line per primitive.
pub fn summarize(runs: &[Run]) -> Vec<Summary> {
    primitives(runs)
        .into_iter()
        .map(|primitive| {
            let mut regimes: Vec<&str> = Vec::new();
            for run in runs {
                for row in run.rows.iter().filter(|r| r.primitive == primitive) {
                    if !regimes.contains(&row.regime.as_str()) {
                        regimes.push(&row.regime);
                    }
                }
            }
            let all: Vec<Versus> = regimes
                .iter()
                .filter_map(|regime| versus(runs, &primitive, regime))
                .collect();
            let chosen = HEADLINES
                .iter()
                .find(|(p, _)| *p == primitive)
                .map_or(&[][..], |(_, r)| *r);
            let mut headlines: Vec<Versus> = chosen
                .iter()
                .filter_map(|regime| all.iter().find(|v| v.regime == *regime).cloned())
                .collect();
            if headlines.is_empty() {
                headlines.extend(all.first().cloned());
            }
            let (mut ahead, mut level, mut behind) = (0, 0, 0);
            for v in &all {
                match v.median() {
                    Some(r) if r > LEVEL => ahead += 1,
                    Some(r) if r >= 1.0 / LEVEL => level += 1,
                    Some(_) => behind += 1,
                    // Only zeros: ours starved is behind, theirs starved ahead.
                    None => match v.ratios.last() {
                        Some(Err(what)) if what.starts_with("fencepost") => behind += 1,
                        Some(Err(_)) => ahead += 1,
                        _ => {}
                    },
                }
            }
            Summary {
                primitive,
                headlines,
                ahead,
                level,
                behind,
            }
        })
        .collect()
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

// ---- charts ------------------------------------------------------------------------

/// The ratio axis: log scale from 1/`SPAN` to `SPAN`; beyond it bars are clipped and
/// marked.
const SPAN: f64 = 10.0;
const WIDTH: f64 = 1160.0;
const LABEL_W: f64 = 460.0;
const HALF: f64 = 230.0;

fn x_of(ratio: f64) -> f64 {
    let l = ratio.clamp(1.0 / SPAN, SPAN).log10() / SPAN.log10();
    LABEL_W + HALF + l * HALF
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A speed (higher is better) from a figure in `unit`.
fn speed(unit: Unit, x: f64) -> f64 {
    match unit {
        Unit::MopsPerSec => x,
        Unit::NsPerOp => 1.0 / x,
    }
}

/// fencepost ÷ `f`, and the range from the two candidates' slowest and fastest rounds.
fn ratio_and_range(row: &Row, f: &Figure) -> Result<(f64, f64, f64), String> {
    let r = row.versus(f)?;
    let ours = &row.figures[0];
    let (o_lo, o_hi) = sorted(speed(row.unit, ours.min), speed(row.unit, ours.max));
    let (t_lo, t_hi) = sorted(speed(row.unit, f.min), speed(row.unit, f.max));
    let lo = o_lo / t_hi;
    let hi = o_hi / t_lo;
    Ok((r, lo.min(r), if hi.is_finite() { hi.max(r) } else { r }))
}

/// `s`, cut to `max` characters with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).chain(['…']).collect()
    }
}

fn sorted(a: f64, b: f64) -> (f64, f64) {
    if a <= b { (a, b) } else { (b, a) }
}

/// One bar: `label`, the ratio, the whisker range.
fn bar(body: &mut String, y: f64, label: &str, bar: Result<(f64, f64, f64), String>) {
    let _ = writeln!(
        body,
        r#"<text x="{:.0}" y="{:.0}" font-size="12" text-anchor="end">{}</text>"#,
        LABEL_W - 8.0,
        y + 12.0,
        esc(label)
    );
    match bar {
        Ok((r, lo, hi)) => {
            let (x1, x0) = (x_of(r), x_of(1.0));
            let color = if r >= 1.0 { "#2a7ab0" } else { "#d9822b" };
            let _ = writeln!(
                body,
                r#"<rect x="{:.1}" y="{:.0}" width="{:.1}" height="14" fill="{color}"/>"#,
                x0.min(x1),
                y + 1.0,
                (x1 - x0).abs().max(1.0)
            );
            let (wl, wh) = (x_of(lo), x_of(hi));
            let _ = writeln!(
                body,
                "<path d=\"M{wl:.1} {a:.0}V{b:.0}M{wl:.1} {m:.0}H{wh:.1}M{wh:.1} {a:.0}V{b:.0}\" stroke=\"#222\" fill=\"none\"/>",
                a = y + 4.0,
                b = y + 12.0,
                m = y + 8.0
            );
            let clipped = if !(1.0 / SPAN..=SPAN).contains(&r) {
                " (off the axis)"
            } else {
                ""
            };
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{:.0}" font-size="11">{r:.2}x{clipped}</text>"#,
                wh.max(x1).max(x0) + 5.0,
                y + 12.0
            );
        }
        Err(what) => {
            let _ = writeln!(
                body,
                r##"<text x="{:.1}" y="{:.0}" font-size="11" fill="#b00">{}</text>"##,
                x_of(1.0) + 5.0,
                y + 12.0,
                esc(&what)
            );
        }
    }
}

/// The frame: title, the quick warning, the axis with its ticks and the 1x line.
fn frame(title: &str, note: &str, quick: bool, body: &str, height: f64, top: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        esc(title)
    );
    for (i, line) in note.lines().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-size="11">{}</text>"#,
            38 + 15 * i,
            esc(line)
        );
    }
    if quick {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" font-size="13" font-weight="bold" fill="#b00">--quick smoke run: samples a tenth of the size, 3 rounds. These ratios are NOT meaningful.</text>"##,
            top - 28.0
        );
    }
    for tick in [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0] {
        let x = x_of(tick);
        let stroke = if tick == 1.0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{:.0}" x2="{x:.1}" y2="{:.0}" stroke="{stroke}"/>"#,
            top - 6.0,
            height - 24.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.0}" font-size="10" text-anchor="middle">{tick}x</text>"#,
            top - 10.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.0}" font-size="11" text-anchor="middle">← fencepost slower | fencepost faster →</text>"#,
        x_of(1.0),
        height - 8.0
    );
    s.push_str(body);
    s.push_str("</svg>\n");
    s
}

fn machine_note(runs: &[Run]) -> String {
    let Some(last) = runs.last() else {
        return String::new();
    };
    let p = &last.provenance;
    format!(
        "{}; {}; commit {}; {}; core-to-core round trip {:.0} ns.\nLog scale. Bars: fencepost's median speed over the candidate's; whiskers: from both candidates' slowest and fastest rounds{}.",
        p.date,
        p.machine(),
        p.commit,
        p.rustc,
        p.round_trip_ns,
        if runs.len() > 1 {
            " (in the last run)"
        } else {
            ""
        }
    )
}

/// Every row of the last run: one bar per candidate after ours.
pub fn chart_full(runs: &[Run]) -> String {
    let quick = runs.iter().any(|r| r.provenance.quick);
    let top = if quick { 100.0 } else { 80.0 };
    let mut y = top;
    let mut body = String::new();
    for row in runs.last().map_or(&[][..], |r| &r.rows[..]) {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.0}" font-size="12" font-weight="bold">{} / {} ({}, {})</text>"#,
            y + 12.0,
            esc(&row.primitive),
            esc(&row.regime),
            row.unit.label(),
            row.unit.better()
        );
        y += 18.0;
        for f in &row.figures[1..] {
            bar(&mut body, y, &shorten(&f.name, 60), ratio_and_range(row, f));
            y += 18.0;
        }
        y += 8.0;
    }
    frame(
        "How many times faster fencepost is than each candidate, every row",
        &machine_note(runs),
        quick,
        &body,
        y + 30.0,
        top,
    )
}

/// The headline rows against their best peer, with the range over the runs.
pub fn chart_summary(runs: &[Run]) -> String {
    let quick = runs.iter().any(|r| r.provenance.quick);
    let top = if quick { 100.0 } else { 80.0 };
    let mut y = top;
    let mut body = String::new();
    for summary in summarize(runs) {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.0}" font-size="12" font-weight="bold">{}</text>"#,
            y + 12.0,
            esc(&summary.primitive)
        );
        y += 18.0;
        for v in &summary.headlines {
            let label = shorten(&format!("{} vs {}", v.regime, v.peer), 60);
            let value = match (v.median(), v.range()) {
                (Some(m), Some((lo, hi))) if v.ratios.len() > 1 => Ok((m, lo, hi)),
                // One run: the rounds' spread of that run.
                (Some(_), _) => {
                    let row = same_rows(runs, &v.primitive, &v.regime).pop();
                    let peer = row.and_then(|r| Some((r, r.headline_peer()?)));
                    peer.map_or(Err("no ratio".into()), |(r, p)| ratio_and_range(r, p))
                }
                (None, _) => Err(v
                    .ratios
                    .last()
                    .and_then(|r| r.clone().err())
                    .unwrap_or_else(|| "no ratio".into())),
            };
            bar(&mut body, y, &label, value);
            y += 20.0;
        }
    }
    let runs_note = if runs.len() > 1 {
        format!(
            "median ratio of {} runs; whiskers: the lowest and highest run",
            runs.len()
        )
    } else {
        "ratio of one run's medians; whiskers: from both candidates' slowest and fastest rounds"
            .into()
    };
    let p = &runs[runs.len() - 1].provenance;
    frame(
        "fencepost against the best peer: how many times faster (headline rows)",
        &format!(
            "{}; {}; commit {}; {}; core-to-core round trip {:.0} ns. Every row: BENCHMARKS.md.\nLog scale. Bars: the {runs_note}.",
            p.date,
            p.machine(),
            p.commit,
            p.rustc,
            p.round_trip_ns
        ),
        quick,
        &body,
        y + 30.0,
        top,
    )
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
