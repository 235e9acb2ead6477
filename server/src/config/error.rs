//! The configuration's one error: why the server (or a command) cannot start, in one line that
//! names the file, the account and the field, never a key.

use crate::secret::KeyError;
use std::fmt;

/// Why the server cannot start: one line, never a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<KeyError> for ConfigError {
    fn from(error: KeyError) -> ConfigError {
        ConfigError(error.to_string())
    }
}
