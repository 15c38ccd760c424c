//! Shared by the `fence_mode_*` test binaries.
#![allow(dead_code)]

pub(crate) mod workloads;
