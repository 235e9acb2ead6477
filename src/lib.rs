//! captchaai-balance: watches the balances of CAPTCHA-service accounts (CaptchaAI and other
//! 2captcha- and createTask-compatible providers).
//!
//! The core is pure: it parses answers, keeps money exact, decides levels, alerts, costs and
//! the polling schedule from readings and the current time, and does no I/O. `bindings` (wasm32
//! only) turns it into the JS API used by the browser extension and the embeddable widget; the
//! server binary (server/) uses the same core, so all three agree.

#![cfg_attr(all(target_arch = "wasm32", feature = "panic-handler"), no_std)]

extern crate alloc;

/// What std's prelude gives and a `no_std` build needs from `alloc` (the same types).
pub(crate) mod prelude {
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

pub mod alerts;
pub mod badge;
pub mod costs;
pub mod error;
pub mod forecast;
pub mod history;
pub mod i18n;
pub mod json;
pub mod level;
pub mod money;
pub mod monitor;
pub mod protocol;
pub mod provider;
pub mod schedule;
pub mod settings;
pub mod state;
pub mod summary;
pub mod view;
pub mod wire;

/// The module's allocator (see Cargo.toml for why not std's).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The JS API; public so the wasm-bindgen tests in tests/web.rs can call it.
#[cfg(target_arch = "wasm32")]
pub mod bindings;

/// A panic is a bug: the wasm module traps without formatting a message (a trap in the
/// browser console still names the export that failed).
#[cfg(all(target_arch = "wasm32", feature = "panic-handler"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
