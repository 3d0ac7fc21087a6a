//! Switchboard's native hot path: a priority queue and a token-bucket rate limiter whose
//! logic lives in plain modules (tested by `cargo test`), exposed to JavaScript through a
//! hand-written Node-API glue module (crates.io, and so `napi-rs`, is not reachable here).

pub mod limiter;
pub mod queue;

// The glue references Node-API symbols that only a JavaScript runtime provides, so the
// test binary (an executable, which must resolve every symbol) is built without it.
#[cfg(not(test))]
mod napi;
