//! The process-wide fence mode when nothing sets it: fixed at the default by the first
//! use, refused afterwards with an error that says why. One test, so that nothing else
//! in this process uses the crate first.

use fencepost::{DEFAULT_FENCE_MODE, FenceMode, fence_mode, set_fence_mode};

#[test]
fn the_first_use_fixes_the_default_and_later_changes_are_refused() {
    // The first use: a queue (not `fence_mode()`).
    let (mut tx, mut rx) = fencepost::spsc::channel::<u8>(2);
    tx.push(1).unwrap();
    let other = match DEFAULT_FENCE_MODE {
        FenceMode::Membarrier => FenceMode::Fences,
        FenceMode::Fences => FenceMode::Membarrier,
    };
    let err = set_fence_mode(other).unwrap_err();
    assert!(err.already_fixed());
    assert_eq!(err.requested(), other);
    assert_eq!(err.in_effect(), fence_mode());
    let message = err.to_string();
    assert!(
        message.starts_with("fencepost::set_fence_mode(") && message.contains("already fixed"),
        "{message}"
    );
    // The default, unless the system refused membarrier (then the mode is Fences).
    if DEFAULT_FENCE_MODE == FenceMode::Fences || !cfg!(miri) {
        assert_eq!(fence_mode(), DEFAULT_FENCE_MODE);
    } else {
        assert_eq!(fence_mode(), FenceMode::Fences);
    }
    // Asking again for the mode in effect is fine.
    assert_eq!(set_fence_mode(fence_mode()), Ok(()));
    assert_eq!(rx.pop(), Some(1));
    let err: Box<dyn std::error::Error> = Box::new(err);
    assert!(err.to_string().contains("set it before"));
}
