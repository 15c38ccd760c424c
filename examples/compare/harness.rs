//! Side-by-side measurement: every candidate of a group runs in the same process, in
//! interleaved rounds (A B C A B C …), and each is reported by its median. Interleaving
//! matters on a shared VM: the host moves vCPUs and the core-to-core latency changes
//! several-fold between minutes, so only ratios taken within one run mean anything.

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

    pub fn label(self) -> &'static str {
        match self {
            Unit::MopsPerSec => "M ops/s",
            Unit::NsPerOp => "ns/op",
        }
    }

    /// Which way is better, so every table and chart can say it.
    pub fn better(self) -> &'static str {
        match self {
            Unit::MopsPerSec => "higher is better",
            Unit::NsPerOp => "lower is better",
        }
    }

    /// How many times better `ours` is than `other` (> 1: ours wins), whichever way
    /// the unit reads. Infinite or NaN when a figure is zero: see [`Unit::compare`].
    pub fn ratio(self, ours: f64, other: f64) -> f64 {
        match self {
            Unit::MopsPerSec => ours / other,
            Unit::NsPerOp => other / ours,
        }
    }
}

/// A throughput sample with fewer operations than this is too coarse for a ratio: a
/// fixed-time workload (the mutex's fairness row counts the slowest thread's
/// acquisitions in 200 ms) in which the candidate barely ran. A fixed-count workload
/// never gets here.
pub const STARVED_OPS: u64 = 10;

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

/// One candidate's figures in one row: the median of its rounds and their range.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub name: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// The operation count of the median sample.
    pub median_ops: u64,
}

impl Figure {
    /// Why this figure cannot be divided by, if it cannot: a throughput from almost no
    /// operations (starved), or a time of 0 (below the clock's resolution).
    pub fn unusable(&self, unit: Unit) -> Option<String> {
        match unit {
            Unit::MopsPerSec if self.median_ops < STARVED_OPS || self.median == 0.0 => {
                Some(format!(
                    "starved: {} operation{} in the median sample",
                    self.median_ops,
                    if self.median_ops == 1 { "" } else { "s" }
                ))
            }
            Unit::NsPerOp if self.median == 0.0 => {
                Some("below the clock's resolution (0 ns)".into())
            }
            _ => None,
        }
    }
}

/// One regime of one primitive: every candidate's figures, ours first.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub primitive: String,
    pub regime: String,
    pub unit: Unit,
    pub figures: Vec<Figure>,
}

impl Row {
    /// Our median.
    pub fn ours(&self) -> f64 {
        self.figures[0].median
    }

    /// How many times faster fencepost is than `f` ([`Unit::ratio`] of the medians),
    /// or what happened instead where a ratio would be absurd.
    pub fn versus(&self, f: &Figure) -> Result<f64, String> {
        if let Some(what) = f.unusable(self.unit) {
            return Err(what);
        }
        if let Some(what) = self.figures[0].unusable(self.unit) {
            return Err(format!("fencepost {what}"));
        }
        Ok(self.unit.ratio(self.ours(), f.median))
    }

    /// [`versus`](Row::versus) as text: `1.38x`, or what happened.
    pub fn versus_text(&self, f: &Figure) -> String {
        match self.versus(f) {
            Ok(r) => format!("{r:.2}x"),
            Err(what) => what,
        }
    }

    /// The best of the peers (candidates after the first that [`is_peer`]) by the
    /// row's unit, if there are at least two peers.
    pub fn best_peer(&self) -> Option<&Figure> {
        let peers = || self.figures[1..].iter().filter(|f| is_peer(&f.name));
        if peers().count() < 2 {
            return None;
        }
        // ratio(a, b) > 1: a is better than b.
        peers().max_by(|a, b| self.unit.ratio(a.median, b.median).total_cmp(&1.0))
    }

    /// The peer a summary compares with: the best of several, or the only one.
    pub fn headline_peer(&self) -> Option<&Figure> {
        self.best_peer().or_else(|| {
            let mut peers = self.figures[1..].iter().filter(|f| is_peer(&f.name));
            match (peers.next(), peers.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })
    }
}

/// Whether a candidate is a peer: not one of our own variants ("fencepost, …") and not
/// a reference point such as a plain copy or a ping-pong floor, which no real
/// primitive can beat and which are there to show the distance to the hardware.
pub fn is_peer(name: &str) -> bool {
    !name.starts_with("fencepost") && !name.contains("floor")
}

/// Where the run stands, for the progress lines on stderr.
#[derive(Clone, Debug)]
pub struct Progress {
    /// 1-based section number, the number of sections, the section's name.
    pub section: usize,
    pub sections: usize,
    pub name: String,
    /// 1-based run number and the number of runs.
    pub run: usize,
    pub runs: usize,
    /// When the whole invocation started.
    pub started: Instant,
    /// Seconds still expected after the current section's estimate runs out.
    pub after_this_section: f64,
    /// This section's expected length and when it started.
    pub this_section: f64,
    pub section_started: Instant,
}

impl Progress {
    fn line(&self, what: &str) -> String {
        let run = if self.runs > 1 {
            format!("run {}/{} · ", self.run, self.runs)
        } else {
            String::new()
        };
        let in_section = self.section_started.elapsed().as_secs_f64();
        let this_left = self.this_section - in_section;
        let left = if this_left > 0.0 {
            format!(
                "about {} left",
                minutes(this_left + self.after_this_section)
            )
        } else {
            // Over its estimate: say so rather than "0s left".
            format!(
                "this section runs over its estimate; about {} after it",
                minutes(self.after_this_section)
            )
        };
        format!(
            "[{run}section {}/{} {}] {what} · {} elapsed · {left}",
            self.section,
            self.sections,
            self.name,
            minutes(self.started.elapsed().as_secs_f64()),
        )
    }
}

/// `75.0` → `"1m15s"`.
pub fn minutes(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Collects the groups of one run.
pub struct Harness {
    quick: bool,
    /// Interleaved rounds per group in a full run (`--quick`: 3).
    rounds: usize,
    rows: Vec<Row>,
    progress: Option<Progress>,
}

impl Harness {
    pub fn new(quick: bool) -> Harness {
        Harness {
            quick,
            rounds: 11,
            rows: Vec::new(),
            progress: None,
        }
    }

    /// Sets the rounds per group of a full run (for groups whose samples are long) and
    /// returns the previous setting.
    pub fn set_rounds(&mut self, rounds: usize) -> usize {
        std::mem::replace(&mut self.rounds, rounds.max(1))
    }

    /// Where the run stands, shown on every progress line.
    pub fn set_progress(&mut self, progress: Progress) {
        self.progress = Some(progress);
    }

    /// The rows recorded so far, in order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Hands over the rows recorded so far and starts afresh (the next run).
    pub fn take_rows(&mut self) -> Vec<Row> {
        std::mem::take(&mut self.rows)
    }

    fn say(&self, what: &str) {
        match &self.progress {
            Some(p) => eprintln!("{}", p.line(what)),
            None => eprintln!("{what}"),
        }
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
        // samples[j][i]: regime j, candidate i: (figure, operations).
        let mut samples: Vec<Vec<Vec<(f64, u64)>>> =
            vec![vec![Vec::new(); candidates.len()]; regimes.len()];
        self.say(&format!("{label}: warm-up"));
        // A workload may pin the calling thread; every sample starts unpinned, so that
        // the threads it spawns can be placed on any CPU.
        for (_, run) in candidates.iter_mut() {
            crate::workloads::pin::unpin();
            run(scale); // warm-up: page faults, thread start-up, frequency
        }
        for round in 0..rounds {
            for (i, (_, run)) in candidates.iter_mut().enumerate() {
                crate::workloads::pin::unpin();
                let figures = run(scale);
                assert_eq!(figures.len(), regimes.len(), "one figure per regime");
                for (j, f) in figures.into_iter().enumerate() {
                    samples[j][i].push((unit.value(f), f.ops));
                }
            }
            self.say(&format!("{label}: round {}/{rounds} done", round + 1));
        }
        crate::workloads::pin::unpin();
        for (regime, per_candidate) in regimes.iter().zip(samples) {
            let figures = candidates
                .iter()
                .zip(per_candidate)
                .map(|((name, _), mut s)| {
                    s.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Figure {
                        name: name.to_string(),
                        median: s[s.len() / 2].0,
                        min: s[0].0,
                        max: s[s.len() - 1].0,
                        median_ops: s[s.len() / 2].1,
                    }
                })
                .collect::<Vec<_>>();
            let row = Row {
                primitive: primitive.into(),
                regime: (*regime).into(),
                unit,
                figures,
            };
            print_row(&row, self.quick);
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
        let ours = row.ours();
        let theirs = match against {
            Some(name) => {
                row.figures
                    .iter()
                    .find(|f| f.name == name)
                    .unwrap_or_else(|| panic!("no candidate named {name}"))
                    .median
            }
            None => row.best_peer().map_or(ours, |b| b.median),
        };
        row.unit.ratio(ours, theirs)
    }
}

fn print_row(row: &Row, quick: bool) {
    println!(
        "\n{} / {} ({}, {})",
        row.primitive,
        row.regime,
        row.unit.label(),
        row.unit.better()
    );
    for f in &row.figures {
        println!(
            "  {:<28} {:>10.2}   [{:.2} .. {:.2}]   fencepost is {}",
            f.name,
            f.median,
            f.min,
            f.max,
            row.versus_text(f)
        );
    }
    if let Some(best) = row.best_peer() {
        println!(
            "  best peer: {}; fencepost is {}{}",
            best.name,
            row.versus_text(best),
            if quick {
                "  (--quick: not meaningful)"
            } else {
                ""
            }
        );
    }
}

pub use crate::workloads::pin::pin_to_cpu;

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(name: &str, median: f64) -> Figure {
        fig_ops(name, median, 1000)
    }

    fn fig_ops(name: &str, median: f64, median_ops: u64) -> Figure {
        Figure {
            name: name.into(),
            median,
            min: median,
            max: median,
            median_ops,
        }
    }

    #[test]
    fn a_starved_candidate_gets_words_not_an_absurd_ratio() {
        let row = |unit, figures| Row {
            primitive: "p".into(),
            regime: "r".into(),
            unit,
            figures,
        };
        // The slowest thread got 2 acquisitions in 200 ms: 0.00001 M/s, not a ratio.
        let fair = row(
            Unit::MopsPerSec,
            vec![fig("fencepost", 0.96), fig_ops("spin", 0.00001, 2)],
        );
        assert_eq!(
            fair.versus_text(&fair.figures[1]),
            "starved: 2 operations in the median sample"
        );
        let ours = row(
            Unit::MopsPerSec,
            vec![fig_ops("fencepost", 0.0, 0), fig("b", 1.0)],
        );
        assert_eq!(
            ours.versus_text(&ours.figures[1]),
            "fencepost starved: 0 operations in the median sample"
        );
        let ns = row(Unit::NsPerOp, vec![fig("fencepost", 2.0), fig("b", 4.0)]);
        assert_eq!(ns.versus_text(&ns.figures[1]), "2.00x");
        // A slow fixed-count sample is a real figure, however large the ratio.
        let slow = row(
            Unit::NsPerOp,
            vec![fig("fencepost", 20.0), fig_ops("spinning", 40_000.0, 4)],
        );
        assert_eq!(slow.versus_text(&slow.figures[1]), "2000.00x");
        let tp = row(Unit::MopsPerSec, vec![fig("fencepost", 2.0), fig("b", 4.0)]);
        assert_eq!(tp.versus_text(&tp.figures[1]), "0.50x");
    }

    #[test]
    fn best_peer_skips_our_variants_and_floors_and_reads_the_unit() {
        let row = Row {
            primitive: "p".into(),
            regime: "r".into(),
            unit: Unit::NsPerOp,
            figures: vec![
                fig("fencepost", 10.0),
                fig("fencepost, variant", 1.0),
                fig("floor (two atomics)", 1.0),
                fig("a", 12.0),
                fig("b", 8.0),
            ],
        };
        assert_eq!(row.best_peer().unwrap().name, "b");
        let one = Row {
            figures: vec![fig("fencepost", 10.0), fig("a", 12.0)],
            ..row
        };
        assert!(one.best_peer().is_none());
        assert_eq!(one.headline_peer().unwrap().name, "a");
    }

    #[test]
    fn minutes_reads_like_a_clock() {
        assert_eq!(minutes(5.2), "5s");
        assert_eq!(minutes(75.0), "1m15s");
    }
}
