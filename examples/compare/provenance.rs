//! Where a run's figures come from: the date, the commit, the compiler, the machine and
//! the core-to-core round trip measured when the run started (on a shared VM it moves
//! the two-thread rows several-fold from one run to the next).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One run's provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// `2026-12-06 14:03 UTC`.
    pub date: String,
    /// `5ba13bf` (`-dirty` when tracked files differ from it), or `unknown`.
    pub commit: String,
    /// `rustc 1.95.0 (…)`, or `unknown`.
    pub rustc: String,
    /// The CPU model (`/proc/cpuinfo`), or `unknown CPU`.
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// `linux x86_64`.
    pub platform: String,
    /// Median ns per round trip of one value between two threads pinned to two CPUs.
    pub round_trip_ns: f64,
    /// A `--quick` run.
    pub quick: bool,
}

impl Provenance {
    /// Records everything, measuring the round trip now.
    pub fn measure(repo: &Path, quick: bool) -> Provenance {
        Provenance {
            date: utc_now(),
            commit: commit(repo),
            rustc: output(
                Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())).arg("-V"),
            )
            .unwrap_or_else(|| "unknown".into()),
            cpu: cpu_model(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            round_trip_ns: round_trip_ns(if quick { 10_000 } else { 100_000 }),
            quick,
        }
    }

    /// The machine in a few words: `AMD EPYC 9B45, 2 CPUs, linux x86_64`.
    pub fn machine(&self) -> String {
        format!("{}, {} CPUs, {}", self.cpu, self.cpus, self.platform)
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn commit(repo: &Path) -> String {
    let Some(hash) =
        output(
            Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(["rev-parse", "--short", "HEAD"]),
        )
    else {
        return "unknown".into();
    };
    let dirty = output(Command::new("git").arg("-C").arg(repo).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .is_some();
    if dirty { format!("{hash}-dirty") } else { hash }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The median of five ping-pong runs of `n` round trips, in ns per round trip.
fn round_trip_ns(n: u64) -> f64 {
    let mut ns: Vec<f64> = (0..5)
        .map(|_| {
            crate::workloads::pin::unpin();
            crate::workloads::spsc::ping_pong_floor(n).as_nanos() as f64 / n as f64
        })
        .collect();
    crate::workloads::pin::unpin();
    ns.sort_by(f64::total_cmp);
    ns[2]
}

fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    utc(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (Hinnant's `civil_from_days`).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59 UTC");
    }
}
