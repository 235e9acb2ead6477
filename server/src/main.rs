//! Placeholder replaced by the server work (issue 3).
fn main() {}
