# Sourced by build.sh and test-wasm.sh, so every wasm32 build uses the same flags (and shares
# compiled artifacts). Panic locations name their source files: without the remap the module's
# size depends on where cargo keeps its registry on this machine, and it would carry that path.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src=/crates --remap-path-prefix=$PWD=/captchaai-balance"
