//! spoor: a batch engine for digital investigators.
//!
//! The stages meet only through typed records (see DESIGN.md): [`model`] holds them and
//! imports nothing else of the crate; [`analyze`] is the interface every producer implements
//! (evidence, hashsets, media, vision, comms, text depend on these two, not on the engine);
//! [`evidence`] walks and hashes,
//! [`engine`] runs the analyzers and the one store writer, [`leads`] turns observations into
//! ranked proposals, [`review`] records the human decisions, [`report`] writes what a court
//! reads, [`case`] keeps it all with an audit chain. [`cli`] only parses and dispatches.

pub mod analyze;
pub mod cli;
pub mod comms;
pub mod demo;
pub mod engine;
pub mod evidence;
pub mod hashsets;
pub mod leads;
pub mod media;
pub mod model;
pub mod places;
pub mod report;
pub mod review;
pub mod store;
pub mod text;
pub mod vision;

pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit statuses (README "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    pub const FATAL: i32 = 1;
    pub const ITEM_ERRORS: i32 = 2;
    pub const MISMATCH: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}
