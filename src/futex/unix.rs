//! Helpers shared by the Unix platform files.

/// `timeout` from now as an absolute `CLOCK_MONOTONIC` time, or `None` if it overflows
/// (as good as no deadline).
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub(super) fn deadline_after(timeout: std::time::Duration) -> Option<libc::timespec> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    let secs = libc::time_t::try_from(timeout.as_secs()).ok()?;
    let mut tv_sec = now.tv_sec.checked_add(secs)?;
    let mut tv_nsec = now.tv_nsec + libc::c_long::from(timeout.subsec_nanos() as i32);
    if tv_nsec >= 1_000_000_000 {
        tv_nsec -= 1_000_000_000;
        tv_sec = tv_sec.checked_add(1)?;
    }
    Some(libc::timespec { tv_sec, tv_nsec })
}

/// The calling thread's `errno`.
pub(super) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
