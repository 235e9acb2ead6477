//! Log output (tracing to stderr) that cannot contain any account's key nor a token of this
//! server.
//!
//! The code never logs the key, a token, the upstream URL or a client's query (tests check
//! this). As a second line of defence, the writer masks every account's key and every token,
//! in any letter case, in every line it writes: tracing's fmt
//! layer writes each event with one `write_all`, so a key cannot be split across two writes.
//! reqwest logs through the `log` crate, which is not bridged into tracing here, so its debug
//! lines (which contain request URLs) are never printed at any `RUST_LOG` level.

use crate::secret::{ApiKey, Token};
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// A `MakeWriter` that masks the keys and tokens in everything written through it.
#[derive(Clone)]
pub struct Redacting<M> {
    inner: M,
    keys: Arc<[ApiKey]>,
    tokens: Arc<[Token]>,
}

impl<M> Redacting<M> {
    /// Wraps `inner`, masking every one of `keys` and `tokens`.
    pub fn new(inner: M, keys: Vec<ApiKey>, tokens: Vec<Token>) -> Redacting<M> {
        Redacting {
            inner,
            keys: keys.into(),
            tokens: tokens.into(),
        }
    }
}

/// The writer of one event.
pub struct RedactingWriter<W> {
    inner: W,
    keys: Arc<[ApiKey]>,
    tokens: Arc<[Token]>,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            keys: Arc::clone(&self.keys),
            tokens: Arc::clone(&self.tokens),
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.keys.iter().any(|key| key.appears_in(buf))
            || self.tokens.iter().any(|token| token.appears_in(buf))
        {
            let mut text = String::from_utf8_lossy(buf).into_owned();
            for key in self.keys.iter() {
                text = key.scrub(&text);
            }
            for token in self.tokens.iter() {
                text = token.scrub(&text);
            }
            self.inner.write_all(text.as_bytes())?;
        } else {
            self.inner.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Installs the global subscriber: `RUST_LOG` (default `info`), stderr, keys and tokens masked.
pub fn init(keys: Vec<ApiKey>, tokens: Vec<Token>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting::new(io::stderr, keys, tokens))
        .with_target(false)
        // Colour codes only for a person at a terminal, not in files or journald.
        .with_ansi(io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_key() {
        let key = ApiKey::new("0123456789abcdef0123456789abcdef").expect("key");
        let other = ApiKey::for_format(
            "CAP-99998888777766665555",
            captchaai_balance::provider::KeyFormat::Token { min: 16, max: 128 },
        )
        .expect("token");
        let mut out = Vec::new();
        let token = Token::new("server-token-0123456789").expect("token");
        let mut writer = RedactingWriter {
            inner: &mut out,
            keys: Arc::from(vec![key, other]),
            tokens: Arc::from(vec![token]),
        };
        writer
            .write_all(b"url=http://x/res.php?key=0123456789abcdef0123456789abcdef&a=1\n")
            .expect("write");
        writer
            .write_all(b"raw=0123456789ABCDEF0123456789ABCDEF\n")
            .expect("write");
        writer
            .write_all(b"body={\"clientKey\":\"CAP-99998888777766665555\"} 0123456789abcdef0123456789abcdef\n")
            .expect("write");
        writer
            .write_all(b"t=SERVER-TOKEN-0123456789\n")
            .expect("write");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "url=http://x/res.php?key=0123…cdef&a=1\nraw=0123…cdef\nbody={\"clientKey\":\"…5555\"} 0123…cdef\nt=[token]\n"
        );
    }
}
