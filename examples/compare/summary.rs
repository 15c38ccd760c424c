//! The one line per primitive: fencepost's headline rows against their best peer,
//! with the median and range over the runs, and how it stands on all its rows.

use crate::harness::{Figure, Row};
use crate::report::Run;
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

    pub fn text(&self) -> String {
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
    pub fn markdown(&self) -> String {
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
pub fn same_rows<'a>(runs: &'a [Run], primitive: &str, regime: &str) -> Vec<&'a Row> {
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
