//! Thread pinning for the benchmarks and the comparison (Linux; elsewhere a no-op).

/// Pins the calling thread to `cpu` (modulo the CPU count).
pub fn pin_to_cpu(cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: `set` is a plain-old-data cpu_set_t, zeroed then filled by CPU_SET for
        // an index below CPU_SETSIZE; sched_setaffinity(0, …) affects only this thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu % n, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}
