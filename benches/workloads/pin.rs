//! Thread pinning for the benchmarks and the comparison (Linux; elsewhere a no-op).
//!
//! The CPU count is the machine's online CPUs, read once: not the calling thread's
//! affinity mask (`available_parallelism`), which shrinks to one CPU as soon as the
//! thread has been pinned, and would then send every later pin to CPU 0.

/// The number of online CPUs, read once per process.
fn online_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sysconf has no memory-safety preconditions.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            usize::try_from(n).unwrap_or(1).max(1)
        }
        #[cfg(not(target_os = "linux"))]
        {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    })
}

/// Restricts the calling thread to the given CPUs (indices modulo the CPU count).
fn set_affinity(cpus: impl Iterator<Item = usize>) {
    #[cfg(target_os = "linux")]
    {
        let n = online_cpus();
        // SAFETY: `set` is a plain-old-data cpu_set_t, zeroed then filled by CPU_SET for
        // indices below CPU_SETSIZE; sched_setaffinity(0, …) affects only this thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for cpu in cpus {
                libc::CPU_SET(cpu % n, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpus;
}

/// Pins the calling thread to `cpu` (modulo the CPU count).
pub fn pin_to_cpu(cpu: usize) {
    set_affinity(std::iter::once(cpu));
}

/// Lets the calling thread run on every CPU again (threads it spawns inherit that).
#[allow(
    dead_code,
    reason = "the comparison harness unpins between samples; criterion benches pin every thread they time"
)]
pub fn unpin() {
    set_affinity(0..online_cpus());
}
