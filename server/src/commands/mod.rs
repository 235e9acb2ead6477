//! What the binary does instead of serving: `check`, one balance reading as a monitoring plugin
//! ([`check`]), and `test-alert`, one test message to every webhook target ([`test_alert`]).

pub mod check;
pub mod test_alert;
