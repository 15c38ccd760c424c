//! The two charts: every row (`report.svg`, `docs/benchmarks/full.svg`) and the
//! headline rows against the best peer (`report-summary.svg`,
//! `docs/benchmarks/summary.svg`). Both plot how many times faster fencepost is, on a
//! log scale around 1x, so every row reads one way whatever its unit.

use crate::harness::{Figure, Row, Unit};
use crate::report::Run;
use crate::summary::{same_rows, summarize};
use std::fmt::Write as _;

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
