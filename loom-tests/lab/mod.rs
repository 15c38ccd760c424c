//! The broken-twin lab's recorder, shared by the loom files (`#[path] mod lab;`).
//!
//! The twins build their protocols from these wrappers instead of loom's types
//! directly: the same calls (`load`, `store`, `swap`, `compare_exchange`, `fence`, a
//! cell's read and write, a futex wait and wake), with a name for every word. A plain
//! `cargo test` runs them with no recording at all. With `FENCEPOST_LAB=FILE` set
//! (`scripts/twin-lab` does it, for one test at a time), [`model`] keeps a log of every
//! operation of the current loom execution, in the order loom ran them: the thread,
//! the operation, the word, the ordering, the value read and the value written.
//!
//! - Running a broken twin, the log of the execution in which loom stopped is written
//!   to `FILE` with loom's reason (a data race, a deadlock or a failed assertion),
//!   and the panic goes on, so the `#[should_panic]` test still passes.
//! - Running the correct twin with `FENCEPOST_LAB_MATCH=FAILING_FILE` as well, every
//!   execution is compared with the failing schedule and the closest one (the most
//!   operations in the same order, then the most values alike) is written to `FILE`:
//!   "the same schedule against the correct protocol".
//!
//! Recording adds no loom operation, so loom explores exactly the executions it
//! explores without the lab. Events are kept in a process-wide list: loom runs one
//! thread at a time, and the lab runs one test per process.
#![allow(dead_code, reason = "each loom binary uses part of the recorder")]

use loom::sync::atomic::Ordering;
use std::fmt::Debug;
use std::fmt::Write as _;
use std::sync::Mutex as StdMutex;

/// One operation of one thread.
#[derive(Clone, Debug, Default)]
struct Event {
    thread: String,
    op: String,
    word: String,
    ordering: String,
    read: String,
    wrote: String,
    note: String,
}

impl Event {
    fn to_line(&self) -> String {
        let fields = [
            &self.thread,
            &self.op,
            &self.word,
            &self.ordering,
            &self.read,
            &self.wrote,
            &self.note,
        ];
        let mut line = String::from("event");
        for f in fields {
            line.push('\t');
            line.push_str(&escape(f));
        }
        line
    }

    fn from_line(line: &str) -> Option<Event> {
        let f: Vec<String> = line.split('\t').map(unescape).collect();
        if f.len() != 8 || f[0] != "event" {
            return None;
        }
        Some(Event {
            thread: f[1].clone(),
            op: f[2].clone(),
            word: f[3].clone(),
            ordering: f[4].clone(),
            read: f[5].clone(),
            wrote: f[6].clone(),
            note: f[7].clone(),
        })
    }

    /// What must agree for two events to be "the same step": who did what to which
    /// word (orderings differ between a twin and its correct version by design).
    fn shape(&self) -> (&str, &str, &str) {
        (&self.thread, &self.op, &self.word)
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Default)]
struct Lab {
    /// loom thread id (its `Debug` text) -> the name the twin gave the thread.
    names: Vec<(String, String)>,
    events: Vec<Event>,
    executions: usize,
    /// Match mode: the failing schedule, and the closest execution so far.
    target: Option<Vec<Event>>,
    best: Option<(i64, Vec<Event>)>,
}

static LAB: StdMutex<Option<Lab>> = StdMutex::new(None);

fn with_lab<R>(f: impl FnOnce(&mut Lab) -> R) -> R {
    let mut guard = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let lab = guard.get_or_insert_with(|| {
        let target = std::env::var_os("FENCEPOST_LAB_MATCH").map(|p| {
            std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("FENCEPOST_LAB_MATCH={p:?}: {e}"))
                .lines()
                .filter_map(Event::from_line)
                .collect()
        });
        Lab {
            target,
            ..Lab::default()
        }
    });
    f(lab)
}

fn recording() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FENCEPOST_LAB").is_some())
}

fn thread_name() -> String {
    let id = format!("{:?}", loom::thread::current().id());
    with_lab(|lab| {
        lab.names
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| id.clone(), |(_, n)| n.clone())
    })
}

/// Appends an event for the current thread (`fill` sets everything but the thread).
fn record(fill: impl FnOnce(&mut Event)) {
    if !recording() {
        return;
    }
    let mut e = Event {
        thread: thread_name(),
        ..Event::default()
    };
    fill(&mut e);
    with_lab(|lab| lab.events.push(e));
}

/// Fills in the value read by the last event of the current thread (a cell read is
/// logged before the access, since loom may stop the execution inside it).
fn complete_last(read: String) {
    if !recording() {
        return;
    }
    let thread = thread_name();
    with_lab(|lab| {
        if let Some(e) = lab.events.iter_mut().rev().find(|e| e.thread == thread) {
            e.read = read;
        }
    });
}

/// Names the calling loom thread in the log.
pub(crate) fn name_thread(name: &str) {
    if !recording() {
        return;
    }
    let id = format!("{:?}", loom::thread::current().id());
    with_lab(|lab| {
        lab.names.retain(|(i, _)| *i != id);
        lab.names.push((id, name.to_string()));
    });
}

/// Weighted longest common subsequence of the two schedules' shapes (fences left
/// out: they are what a correct version adds): each matched step scores 1000, plus,
/// when it read and wrote the same values, more the earlier it comes in the failing
/// schedule (so the closest execution agrees with the twin for as long as the correct
/// protocol allows). Ties go to the shorter candidate. `scripts/twin-lab` aligns the
/// two schedules with the same weights.
fn closeness(target: &[Event], candidate: &[Event]) -> i64 {
    let a: Vec<&Event> = target.iter().filter(|e| e.op != "fence").collect();
    let b: Vec<&Event> = candidate.iter().filter(|e| e.op != "fence").collect();
    let n = a.len() as i64;
    let mut dp = vec![vec![0i64; b.len() + 1]; a.len() + 1];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let mut best = dp[i - 1][j].max(dp[i][j - 1]);
            if a[i - 1].shape() == b[j - 1].shape() {
                let same = a[i - 1].read == b[j - 1].read && a[i - 1].wrote == b[j - 1].wrote;
                let bonus = if same { 1 + n - i as i64 } else { 0 };
                best = best.max(dp[i - 1][j - 1] + 1000 + bonus);
            }
            dp[i][j] = best;
        }
    }
    dp[a.len()][b.len()] * 1000 - candidate.len() as i64
}

/// Closes the current execution's log: in match mode, keeps it if it is the closest.
fn end_execution(lab: &mut Lab) {
    if lab.executions == 0 {
        return;
    }
    let events = std::mem::take(&mut lab.events);
    if let Some(target) = &lab.target {
        let score = closeness(target, &events);
        if lab.best.as_ref().is_none_or(|(s, _)| score > *s) {
            lab.best = Some((score, events));
        }
    }
}

fn begin_execution(main: &str) {
    if !recording() {
        return;
    }
    with_lab(|lab| {
        end_execution(lab);
        lab.executions += 1;
        lab.events.clear();
        lab.names.clear();
    });
    name_thread(main);
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

fn classify(message: &str) -> &'static str {
    if message.contains("Causality violation") {
        "data race"
    } else if message.starts_with("deadlock") {
        "deadlock"
    } else {
        "assertion"
    }
}

fn write_out(text: &str) {
    if let Some(path) = std::env::var_os("FENCEPOST_LAB") {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("FENCEPOST_LAB={path:?}: {e}"));
    }
}

/// `loom::model`, with the calling (main) thread named `main` in the log.
pub(crate) fn model<F>(main: &'static str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    if !recording() {
        loom::model(f);
        return;
    }
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        loom::model(move || {
            begin_execution(main);
            f();
        })
    }));
    let mut out = String::new();
    with_lab(|lab| {
        match &run {
            Err(payload) => {
                let message = panic_text(payload.as_ref());
                let _ = writeln!(out, "failure\t{}\t{}", classify(&message), escape(&message));
                let _ = writeln!(out, "execution\t{}", lab.executions);
                for e in &lab.events {
                    let _ = writeln!(out, "{}", e.to_line());
                }
            }
            Ok(()) => {
                end_execution(lab);
                let _ = writeln!(out, "failure\tnone\t");
                let _ = writeln!(out, "executions\t{}", lab.executions);
                if let Some((_, best)) = &lab.best {
                    for e in best {
                        let _ = writeln!(out, "{}", e.to_line());
                    }
                }
            }
        }
        // A later model in the same process (there is none in lab runs) starts afresh.
        lab.executions = 0;
        lab.best = None;
        lab.events.clear();
    });
    write_out(&out);
    if let Err(payload) = run {
        std::panic::resume_unwind(payload);
    }
}

/// `loom::thread::spawn`, naming the new thread in the log.
pub(crate) fn spawn<F, T>(name: &'static str, f: F) -> loom::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    loom::thread::spawn(move || {
        name_thread(name);
        let r = f();
        record(|e| e.op = "exits".into());
        r
    })
}

/// A step the lab does not see inside (a whole lock or unlock of the crate's mutex,
/// say), logged as `op` on `word`.
pub(crate) fn step(op: &str, word: &str) {
    record(|e| {
        e.op = op.into();
        e.word = word.into();
    });
}

/// A loom fence, logged.
pub(crate) fn fence(order: Ordering) {
    loom::sync::atomic::fence(order);
    record(|e| {
        e.op = "fence".into();
        e.ordering = format!("{order:?}");
    });
}

macro_rules! recorded_atomic {
    ($(#[$doc:meta])* $name:ident, $loom:ty, $t:ty) => {
        $(#[$doc])*
        pub(crate) struct $name {
            word: String,
            show: fn($t) -> String,
            inner: $loom,
        }

        impl $name {
            /// A word called `word` in the log, starting at `value`.
            pub(crate) fn new(word: &str, value: $t) -> Self {
                Self::with_format(word, value, |v| format!("{v:?}"))
            }

            /// As [`new`](Self::new), with `show` writing its values in the log.
            pub(crate) fn with_format(word: &str, value: $t, show: fn($t) -> String) -> Self {
                Self { word: word.to_string(), show, inner: <$loom>::new(value) }
            }

            /// The loom atomic itself (for the futex calls).
            pub(crate) fn loom(&self) -> &$loom {
                &self.inner
            }

            pub(crate) fn load(&self, order: Ordering) -> $t {
                let v = self.inner.load(order);
                record(|e| {
                    e.op = "load".into();
                    e.word = self.word.clone();
                    e.ordering = format!("{order:?}");
                    e.read = (self.show)(v);
                });
                v
            }

            pub(crate) fn store(&self, value: $t, order: Ordering) {
                self.inner.store(value, order);
                record(|e| {
                    e.op = "store".into();
                    e.word = self.word.clone();
                    e.ordering = format!("{order:?}");
                    e.wrote = (self.show)(value);
                });
            }

            pub(crate) fn swap(&self, value: $t, order: Ordering) -> $t {
                let old = self.inner.swap(value, order);
                self.rmw("swap", order, old, value);
                old
            }

            pub(crate) fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                let r = self.inner.compare_exchange(current, new, success, failure);
                record(|e| {
                    e.op = "compare_exchange".into();
                    e.word = self.word.clone();
                    match r {
                        Ok(old) => {
                            e.ordering = format!("{success:?}");
                            e.read = (self.show)(old);
                            e.wrote = (self.show)(new);
                        }
                        Err(seen) => {
                            e.ordering = format!("{failure:?}");
                            e.read = (self.show)(seen);
                            e.note = format!("expected {}: fails", (self.show)(current));
                        }
                    }
                });
                r
            }

            fn rmw(&self, op: &str, order: Ordering, old: $t, new: $t) {
                record(|e| {
                    e.op = op.into();
                    e.word = self.word.clone();
                    e.ordering = format!("{order:?}");
                    e.read = (self.show)(old);
                    e.wrote = (self.show)(new);
                });
            }
        }
    };
}

recorded_atomic!(
    /// A loom `AtomicUsize` with a name in the log.
    AtomicUsize,
    loom::sync::atomic::AtomicUsize,
    usize
);
recorded_atomic!(
    /// A loom `AtomicU32` with a name in the log.
    AtomicU32,
    loom::sync::atomic::AtomicU32,
    u32
);
recorded_atomic!(
    /// A loom `AtomicBool` with a name in the log.
    AtomicBool,
    loom::sync::atomic::AtomicBool,
    bool
);

macro_rules! recorded_fetch_add {
    ($name:ident, $t:ty) => {
        impl $name {
            pub(crate) fn fetch_add(&self, value: $t, order: Ordering) -> $t {
                let old = self.inner.fetch_add(value, order);
                self.rmw("fetch_add", order, old, old.wrapping_add(value));
                old
            }

            pub(crate) fn fetch_sub(&self, value: $t, order: Ordering) -> $t {
                let old = self.inner.fetch_sub(value, order);
                self.rmw("fetch_sub", order, old, old.wrapping_sub(value));
                old
            }

            pub(crate) fn fetch_or(&self, value: $t, order: Ordering) -> $t {
                let old = self.inner.fetch_or(value, order);
                self.rmw("fetch_or", order, old, old | value);
                old
            }
        }
    };
}

recorded_fetch_add!(AtomicUsize, usize);
recorded_fetch_add!(AtomicU32, u32);

/// A loom `UnsafeCell` with a name in the log: the plain (non-atomic) memory of a
/// protocol, such as a slot or the data a lock protects.
pub(crate) struct Cell<T> {
    word: String,
    inner: loom::cell::UnsafeCell<T>,
}

impl<T: Copy + Debug> Cell<T> {
    pub(crate) fn new(word: &str, value: T) -> Self {
        Self {
            word: word.to_string(),
            inner: loom::cell::UnsafeCell::new(value),
        }
    }

    /// A plain read.
    ///
    /// # Safety
    /// No other thread writes the cell at the same time (loom reports it if one can).
    pub(crate) unsafe fn read(&self) -> T {
        self.log("read", String::new());
        // SAFETY: the caller's obligation; loom checks it.
        let v = self.inner.with(|p| unsafe { *p });
        complete_last(format!("{v:?}"));
        v
    }

    /// A plain write.
    ///
    /// # Safety
    /// No other thread accesses the cell at the same time (loom reports it if one can).
    pub(crate) unsafe fn write(&self, value: T) {
        self.log("write", format!("{value:?}"));
        // SAFETY: the caller's obligation; loom checks it.
        self.inner.with_mut(|p| unsafe { *p = value });
    }

    /// A plain read-modify-write (`*p = f(*p)`), one access for loom.
    ///
    /// # Safety
    /// As for [`write`](Self::write).
    pub(crate) unsafe fn update(&self, f: impl FnOnce(T) -> T) {
        self.log("update", String::new());
        // SAFETY: the caller's obligation; loom checks it.
        let (old, new) = self.inner.with_mut(|p| unsafe {
            let old = *p;
            *p = f(old);
            (old, *p)
        });
        complete_last(format!("{old:?}"));
        if recording() {
            let thread = thread_name();
            with_lab(|lab| {
                if let Some(e) = lab.events.iter_mut().rev().find(|e| e.thread == thread) {
                    e.wrote = format!("{new:?}");
                }
            });
        }
    }

    fn log(&self, op: &str, wrote: String) {
        record(|e| {
            e.op = op.into();
            e.word = self.word.clone();
            e.wrote = wrote;
        });
    }
}

// SAFETY: only the twins use `Cell`, and sharing it between loom threads is what they
// test: loom reports every unordered access.
unsafe impl<T: Send> Sync for Cell<T> {}

/// `futex::wait(word, expected)` through the crate's loom futex, logged before it
/// sleeps (loom may report a deadlock there) and when it returns.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32) {
    record(|e| {
        e.op = "futex_wait".into();
        e.word = word.word.clone();
        e.note = format!("sleeps while {} == {}", word.word, (word.show)(expected));
    });
    fencepost::__loom_futex::wait(word.loom(), expected);
    record(|e| {
        e.op = "returns".into();
        e.word = word.word.clone();
        e.note = "from futex_wait".into();
    });
}

/// `futex::wake_one(word)`, logged.
pub(crate) fn futex_wake_one(word: &AtomicU32) -> bool {
    let woke = fencepost::__loom_futex::wake_one(word.loom());
    record(|e| {
        e.op = "futex_wake".into();
        e.word = word.word.clone();
        let what = if woke {
            "wakes a sleeper"
        } else {
            "nobody sleeps"
        };
        e.note = what.into();
    });
    woke
}

/// `futex::wake_n(word, n)`, logged.
pub(crate) fn futex_wake_n(word: &AtomicU32, n: u32) -> u32 {
    let woken = fencepost::__loom_futex::wake_n(word.loom(), n);
    record(|e| {
        e.op = "futex_wake".into();
        e.word = word.word.clone();
        e.note = format!("asks for {n}, wakes {woken}");
    });
    woken
}
