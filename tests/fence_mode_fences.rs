//! The queue and the map with `FenceMode::Fences` (no `membarrier`, a `fence(SeqCst)`
//! on both halves), set before first use. Its own process: the mode is process-wide.

mod fence_mode;
use fence_mode::workloads::*;
use fencepost::FenceMode;

#[test]
fn blocking_ping_pong_with_fences() {
    assert_eq!(fix(FenceMode::Fences), FenceMode::Fences);
    blocking_ping_pong();
}

#[test]
fn blocking_stream_with_fences() {
    fix(FenceMode::Fences);
    blocking_stream_with_sleeps();
}

#[test]
fn hash_map_removes_with_fences() {
    fix(FenceMode::Fences);
    hash_map_remove_loop();
}
