//! The queue and the map with `FenceMode::Membarrier` (a compiler fence on the light
//! half, `membarrier(PRIVATE_EXPEDITED)` on the heavy half), set before first use. Its
//! own process: the mode is process-wide. Under Miri the mode is refused and the
//! workloads run with fences.

mod fence_mode;
use fence_mode::workloads::*;
use fencepost::FenceMode;

#[test]
fn blocking_ping_pong_with_membarrier() {
    fix(FenceMode::Membarrier);
    blocking_ping_pong();
}

#[test]
fn blocking_stream_with_membarrier() {
    fix(FenceMode::Membarrier);
    blocking_stream_with_sleeps();
}

#[test]
fn hash_map_removes_with_membarrier() {
    fix(FenceMode::Membarrier);
    hash_map_remove_loop();
}
