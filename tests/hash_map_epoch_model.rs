//! The hash map's epoch protocol checked against the C++20 memory model itself, for the
//! one schedule loom cannot express: the *stale pin* (issue: fault 7).
//!
//! A reader loads the epoch (5) and stalls before its pin store; a writer unlinks an
//! object `O` and seals it at 5; two other writers advance the epoch (5 to 6, 6 to 7)
//! with scans that do not see the pin; the reader pins at 5, fences, and loads the
//! pointer. The object is reclaimed at 7 (sealed at 5, two advances). Is it possible that
//! the reader's load still returns `O`? (When one thread makes both advances, its second
//! fence follows a CAS that read the seal, which orders the unlink before it: that
//! variant is safe under both protocols. The bug needs two advancing threads.)
//!
//! loom cannot answer: it models `fence(SeqCst)` as joining the causality of every
//! earlier SeqCst fence, which is stronger than C++ (the crate's earlier protocol passes
//! loom's model of this schedule at every bound). So this file enumerates the candidate
//! executions of the schedule as a litmus test, axiomatically: every reads-from choice,
//! every modification order, then the C++20 consistency rules (RMW atomicity,
//! happens-before with release sequences and fence synchronisation, coherence, and the
//! existence of the SeqCst order `S` over the fences, [atomics.order]/4). It checks that
//! the outcome is allowed for the earlier protocol (the model *can* express the bug) and
//! forbidden for the current one (`src/hash_map/epoch.rs`). The asymmetric light/heavy
//! fence pair is modelled as two SeqCst fences, which is the guarantee it provides.
//!
//! Not run under Miri: it exercises no unsafe code, only arithmetic.
#![cfg(not(miri))]
#![allow(
    clippy::needless_range_loop,
    reason = "relations over event indices read best as index loops"
)]

use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Load,
    Store,
    /// A read-modify-write that succeeded (a CAS that failed is not in the schedule).
    Rmw,
    Fence,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Mo {
    Relaxed,
    Acquire,
    Release,
    SeqCst,
}

impl Mo {
    fn acquires(self) -> bool {
        matches!(self, Mo::Acquire | Mo::SeqCst)
    }
    fn releases(self) -> bool {
        matches!(self, Mo::Release | Mo::SeqCst)
    }
}

#[derive(Clone, Copy, Debug)]
struct Ev {
    thread: usize,
    kind: Kind,
    loc: usize,
    mo: Mo,
    /// The value written (stores, RMWs).
    write: u64,
    /// The value this read must return in the outcome asked about (loads, RMWs).
    read: Option<u64>,
}

/// A litmus program: events in program order per thread, initial values per location.
struct Litmus {
    init: Vec<u64>,
    events: Vec<Ev>,
}

/// Writes: `Some(e)` for an event, `None` for a location's initial value.
type Write = Option<usize>;

impl Litmus {
    fn writes(&self, loc: usize) -> Vec<usize> {
        (0..self.events.len())
            .filter(|&e| {
                self.events[e].loc == loc && matches!(self.events[e].kind, Kind::Store | Kind::Rmw)
            })
            .collect()
    }

    fn value(&self, w: Write, loc: usize) -> u64 {
        w.map_or(self.init[loc], |e| self.events[e].write)
    }

    /// Whether some C++20-consistent execution gives every read its required value.
    fn allowed(&self) -> bool {
        let n = self.events.len();
        let reads: Vec<usize> = (0..n)
            .filter(|&e| matches!(self.events[e].kind, Kind::Load | Kind::Rmw))
            .collect();
        // Candidate sources of each read: writes of its location with the right value.
        let sources: Vec<Vec<Write>> = reads
            .iter()
            .map(|&r| {
                let ev = self.events[r];
                let mut c: Vec<Write> = vec![None];
                c.extend(
                    self.writes(ev.loc)
                        .into_iter()
                        .filter(|&w| w != r)
                        .map(Some),
                );
                c.retain(|&w| ev.read.is_none_or(|v| self.value(w, ev.loc) == v));
                c
            })
            .collect();
        let locs = self.init.len();
        let mos: Vec<Vec<Vec<usize>>> = (0..locs).map(|l| permutations(&self.writes(l))).collect();
        let mut choice = vec![0usize; reads.len()];
        loop {
            if sources.iter().all(|s| !s.is_empty()) {
                let rf: HashMap<usize, Write> = reads
                    .iter()
                    .zip(&choice)
                    .zip(&sources)
                    .map(|((&r, &i), s)| (r, s[i]))
                    .collect();
                let mut mo_choice = vec![0usize; locs];
                loop {
                    let mo: Vec<&Vec<usize>> = (0..locs).map(|l| &mos[l][mo_choice[l]]).collect();
                    if self.consistent(&rf, &mo) {
                        return true;
                    }
                    if !next(
                        &mut mo_choice,
                        &mos.iter().map(Vec::len).collect::<Vec<_>>(),
                    ) {
                        break;
                    }
                }
            }
            if sources.iter().any(Vec::is_empty)
                || !next(
                    &mut choice,
                    &sources.iter().map(Vec::len).collect::<Vec<_>>(),
                )
            {
                return false;
            }
        }
    }

    fn consistent(&self, rf: &HashMap<usize, Write>, mo: &[&Vec<usize>]) -> bool {
        let n = self.events.len();
        let ev = &self.events;
        // Position in modification order: the initial value is before every write.
        let mo_pos = |w: Write| -> usize {
            match w {
                None => 0,
                Some(e) => 1 + mo[ev[e].loc].iter().position(|&x| x == e).unwrap(),
            }
        };
        // RMW atomicity: an RMW reads its immediate predecessor in modification order.
        for (&r, &w) in rf {
            if ev[r].kind == Kind::Rmw && mo_pos(w) + 1 != mo_pos(Some(r)) {
                return false;
            }
        }
        let sb = |a: usize, b: usize| ev[a].thread == ev[b].thread && a < b;
        // The release sequence of write w: w, then the RMWs right after it in mo.
        let in_release_sequence = |head: usize, w: usize| -> bool {
            if head == w {
                return true;
            }
            let order = mo[ev[head].loc];
            let (Some(i), Some(j)) = (
                order.iter().position(|&x| x == head),
                order.iter().position(|&x| x == w),
            ) else {
                return false;
            };
            j > i && order[i + 1..=j].iter().all(|&x| ev[x].kind == Kind::Rmw)
        };
        // synchronizes-with, including fences: a release (write, or a release fence
        // sequenced before a write) whose release sequence an acquire (read, or a read
        // sequenced before an acquire fence) reads from.
        let mut hb = vec![vec![false; n]; n];
        for a in 0..n {
            for b in 0..n {
                hb[a][b] = sb(a, b);
            }
        }
        for (&r, &w) in rf {
            let Some(w) = w else { continue };
            // Heads: releasing writes whose release sequence contains w.
            for head in 0..n {
                if !matches!(ev[head].kind, Kind::Store | Kind::Rmw)
                    || ev[head].loc != ev[w].loc
                    || !in_release_sequence(head, w)
                {
                    continue;
                }
                let mut from: Vec<usize> = Vec::new();
                if ev[head].mo.releases() {
                    from.push(head);
                }
                from.extend(
                    (0..n).filter(|&f| {
                        ev[f].kind == Kind::Fence && ev[f].mo.releases() && sb(f, head)
                    }),
                );
                let mut to: Vec<usize> = Vec::new();
                if ev[r].mo.acquires() {
                    to.push(r);
                }
                to.extend(
                    (0..n)
                        .filter(|&g| ev[g].kind == Kind::Fence && ev[g].mo.acquires() && sb(r, g)),
                );
                for &f in &from {
                    for &t in &to {
                        hb[f][t] = true;
                    }
                }
            }
        }
        for k in 0..n {
            for i in 0..n {
                if hb[i][k] {
                    for j in 0..n {
                        if hb[k][j] {
                            hb[i][j] = true;
                        }
                    }
                }
            }
        }
        if (0..n).any(|i| hb[i][i]) {
            return false;
        }
        let is_write = |e: usize| matches!(ev[e].kind, Kind::Store | Kind::Rmw);
        let is_read = |e: usize| matches!(ev[e].kind, Kind::Load | Kind::Rmw);
        let src = |r: usize| rf[&r];
        // Coherence.
        for a in 0..n {
            for b in 0..n {
                if a == b || !hb[a][b] || ev[a].kind == Kind::Fence || ev[b].kind == Kind::Fence {
                    continue;
                }
                if ev[a].loc != ev[b].loc {
                    continue;
                }
                if is_write(a) && is_write(b) && mo_pos(Some(a)) >= mo_pos(Some(b)) {
                    return false;
                }
                if is_read(a) && is_read(b) && mo_pos(src(a)) > mo_pos(src(b)) {
                    return false;
                }
                if is_read(a) && is_write(b) && mo_pos(src(a)) >= mo_pos(Some(b)) {
                    return false;
                }
                if is_write(a) && is_read(b) && mo_pos(src(b)) < mo_pos(Some(a)) {
                    return false;
                }
            }
        }
        for (&r, &w) in rf {
            if let Some(w) = w {
                if hb[r][w] {
                    return false;
                }
            }
        }
        // Coherence-ordered-before (same location): a write before a read of it; mo; a
        // read before a write later in mo than what it read; transitively.
        let co = |a: usize, b: usize| -> bool {
            if a == b || ev[a].kind == Kind::Fence || ev[b].kind == Kind::Fence {
                return false;
            }
            if ev[a].loc != ev[b].loc {
                return false;
            }
            let pa = if is_write(a) {
                mo_pos(Some(a))
            } else {
                mo_pos(src(a))
            };
            let pb = if is_write(b) {
                mo_pos(Some(b))
            } else {
                mo_pos(src(b))
            };
            match (is_write(a), is_write(b)) {
                (true, true) => pa < pb,
                (true, false) => pa <= pb,
                (false, true) => pa < pb,
                (false, false) => pa < pb,
            }
        };
        // The SeqCst fences need a total order S with: F1 hb F2 => F1 before F2; and for
        // A coherence-ordered before B, a fence X hb A and B hb a fence Y => X before Y.
        let fences: Vec<usize> = (0..n)
            .filter(|&e| ev[e].kind == Kind::Fence && ev[e].mo == Mo::SeqCst)
            .collect();
        let mut before = vec![vec![false; n]; n];
        for &x in &fences {
            for &y in &fences {
                if hb[x][y] {
                    before[x][y] = true;
                }
            }
        }
        for a in 0..n {
            for b in 0..n {
                if !co(a, b) {
                    continue;
                }
                for &x in &fences {
                    for &y in &fences {
                        if hb[x][a] && hb[b][y] {
                            before[x][y] = true;
                        }
                    }
                }
            }
        }
        acyclic(&fences, &before)
    }
}

/// Whether the "before" edges among `nodes` admit a total order.
fn acyclic(nodes: &[usize], before: &[Vec<bool>]) -> bool {
    let mut left: Vec<usize> = nodes.to_vec();
    while !left.is_empty() {
        let Some(i) = (0..left.len()).find(|&i| !left.iter().any(|&o| before[o][left[i]])) else {
            return false;
        };
        left.remove(i);
    }
    true
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.is_empty() {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

/// Advances a mixed-radix counter; false when it wraps.
fn next(counter: &mut [usize], radix: &[usize]) -> bool {
    for (c, &r) in counter.iter_mut().zip(radix) {
        *c += 1;
        if *c < r {
            return true;
        }
        *c = 0;
    }
    false
}

// Locations and values of the schedule.
const EPOCH: usize = 0;
const PIN: usize = 1;
const SLOT: usize = 2;
const INACTIVE: u64 = 0;
const PINNED_AT_5: u64 = 5 << 1 | 1;
const OBJECT: u64 = 1;
const UNLINKED: u64 = 0;

fn ev(thread: usize, kind: Kind, loc: usize, mo: Mo, write: u64, read: Option<u64>) -> Ev {
    Ev {
        thread,
        kind,
        loc,
        mo,
        write,
        read,
    }
}

fn fence(thread: usize) -> Ev {
    ev(thread, Kind::Fence, 0, Mo::SeqCst, 0, None)
}

/// The stale-pin schedule with the reader's outcome `seen` (the value its slot load
/// returns), under the current protocol (`current`) or the earlier one. The two advances
/// are made by two other writers (say of two other shards), each with its own thread.
fn stale_pin(current: bool, pin_seen_by_first_scan: u64, seen: u64) -> Litmus {
    stale_pin_advanced_by(current, [2, 3], pin_seen_by_first_scan, seen)
}

/// As [`stale_pin`], with the two advances made by the threads `advancers`.
fn stale_pin_advanced_by(
    current: bool,
    advancers: [usize; 2],
    pin_seen_by_first_scan: u64,
    seen: u64,
) -> Litmus {
    use Kind::*;
    let (r, w) = (0, 1);
    let mut events = vec![
        // Reader: load the epoch (5), store the pin, light fence, load the slot.
        ev(
            r,
            Load,
            EPOCH,
            if current { Mo::Relaxed } else { Mo::Acquire },
            0,
            Some(5),
        ),
        ev(r, Store, PIN, Mo::Release, PINNED_AT_5, None),
        fence(r),
        ev(r, Load, SLOT, Mo::Acquire, 0, Some(seen)),
        // Writer: unlink, then seal at 5.
        ev(w, Store, SLOT, Mo::Relaxed, UNLINKED, None),
    ];
    if current {
        events.push(fence(w));
        events.push(ev(w, Load, EPOCH, Mo::Relaxed, 0, Some(5)));
    } else {
        events.push(ev(w, Rmw, EPOCH, Mo::Release, 5, Some(5)));
    }
    // Two successful advances, 5 -> 6 (thread 2) and 6 -> 7 (thread 3). The first scan
    // may see the pin at 5 (which allows advancing from 5) or nothing; the second must
    // see nothing.
    let scans = [(5, pin_seen_by_first_scan), (6, INACTIVE)];
    for (a, (g, scanned)) in advancers.into_iter().zip(scans) {
        if current {
            events.push(ev(a, Load, EPOCH, Mo::Acquire, 0, Some(g)));
            events.push(fence(a));
        } else {
            events.push(fence(a));
            events.push(ev(a, Load, EPOCH, Mo::Acquire, 0, Some(g)));
        }
        events.push(ev(a, Load, PIN, Mo::Acquire, 0, Some(scanned)));
        events.push(ev(a, Rmw, EPOCH, Mo::Release, g + 1, Some(g)));
    }
    Litmus {
        init: vec![5, INACTIVE, OBJECT],
        events,
    }
}

/// Whether the reader can still load the reclaimed object, by any first-scan outcome.
fn reader_sees_reclaimed_object(current: bool) -> bool {
    [INACTIVE, PINNED_AT_5]
        .into_iter()
        .any(|scan| stale_pin(current, scan, OBJECT).allowed())
}

#[test]
fn the_earlier_protocol_lets_a_stale_pin_read_a_reclaimed_object() {
    assert!(
        reader_sees_reclaimed_object(false),
        "the model should find the gap that the issue describes"
    );
}

#[test]
fn the_current_protocol_forbids_it() {
    assert!(!reader_sees_reclaimed_object(true));
}

#[test]
fn one_thread_advancing_twice_cannot_cause_it_under_either_protocol() {
    for current in [false, true] {
        for scan in [INACTIVE, PINNED_AT_5] {
            assert!(!stale_pin_advanced_by(current, [2, 2], scan, OBJECT).allowed());
        }
    }
}

#[test]
fn both_protocols_allow_the_reader_to_see_the_unlink() {
    // The checker is not vacuous: the safe outcome is allowed in both.
    for current in [false, true] {
        assert!(
            stale_pin(current, INACTIVE, UNLINKED).allowed(),
            "current: {current}"
        );
    }
}

#[test]
fn the_checker_knows_store_buffering() {
    // SB: x = y = 0; T0: x = 1; r0 = y. T1: y = 1; r1 = x. Relaxed allows r0 = r1 = 0;
    // SeqCst fences between the store and the load forbid it.
    use Kind::*;
    for (fenced, allowed) in [(false, true), (true, false)] {
        let mut events = vec![ev(0, Store, 0, Mo::Relaxed, 1, None)];
        if fenced {
            events.push(fence(0));
        }
        events.push(ev(0, Load, 1, Mo::Relaxed, 0, Some(0)));
        events.push(ev(1, Store, 1, Mo::Relaxed, 1, None));
        if fenced {
            events.push(fence(1));
        }
        events.push(ev(1, Load, 0, Mo::Relaxed, 0, Some(0)));
        let sb = Litmus {
            init: vec![0, 0],
            events,
        };
        assert_eq!(sb.allowed(), allowed, "fenced: {fenced}");
    }
}

#[test]
fn the_checker_knows_message_passing() {
    // MP: data = 1; flag = 1 (Release) || flag == 1 (Acquire) => data == 1.
    use Kind::*;
    for (release, stale_allowed) in [(Mo::Release, false), (Mo::Relaxed, true)] {
        let mp = Litmus {
            init: vec![0, 0],
            events: vec![
                ev(0, Store, 0, Mo::Relaxed, 1, None),
                ev(0, Store, 1, release, 1, None),
                ev(1, Load, 1, Mo::Acquire, 0, Some(1)),
                ev(1, Load, 0, Mo::Relaxed, 0, Some(0)),
            ],
        };
        assert_eq!(mp.allowed(), stale_allowed, "{release:?}");
    }
}
