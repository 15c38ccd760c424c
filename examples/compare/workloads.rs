//! The loops shared with the criterion benches (`benches/workloads/`).

#[path = "../../benches/workloads/pin.rs"]
pub mod pin;
#[path = "../../benches/workloads/spsc.rs"]
pub mod spsc;
