//! Monomorphic, out-of-line `push`/`pop` of `spsc::{Producer, Consumer}<u64>` and of the
//! real-time sides `spsc::{RealTimeProducer, RealTimeConsumer}<u64>`, so that
//! `scripts/check` can disassemble exactly what users' code inlines and check the
//! instruction shape documented in `src/spsc/mod.rs` (no locked instruction or `mfence`
//! on x86_64, no `dmb` on aarch64; for the real-time sides also no call and no
//! `syscall`/`svc` at all). Running it just exercises them once.

use fencepost::spsc::{
    Consumer, Producer, RealTimeConsumer, RealTimeProducer, channel, channel_real_time,
};

/// `Producer::<u64>::push`, out of line.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fencepost_probe_push(tx: &mut Producer<u64>, v: u64) -> bool {
    tx.push(v).is_ok()
}

/// `Consumer::<u64>::pop`, out of line.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fencepost_probe_pop(rx: &mut Consumer<u64>) -> Option<u64> {
    rx.pop()
}

/// `RealTimeProducer::<u64>::push`, out of line.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fencepost_probe_rt_push(tx: &mut RealTimeProducer<u64>, v: u64) -> bool {
    tx.push(v).is_ok()
}

/// `RealTimeConsumer::<u64>::pop`, out of line.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fencepost_probe_rt_pop(rx: &mut RealTimeConsumer<u64>) -> Option<u64> {
    rx.pop()
}

fn main() {
    let (mut tx, mut rx) = channel(2);
    assert!(fencepost_probe_push(&mut tx, 7));
    assert_eq!(fencepost_probe_pop(&mut rx), Some(7));
    let (mut tx, mut rx) = channel_real_time(2);
    assert!(fencepost_probe_rt_push(&mut tx, 8));
    assert_eq!(fencepost_probe_rt_pop(&mut rx), Some(8));
}
