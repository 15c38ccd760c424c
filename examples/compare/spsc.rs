pub fn run(_h: &mut crate::harness::Harness) {}
