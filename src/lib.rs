//! spoor: a batch engine for digital investigators.
//!
//! The stages meet only through typed records (see DESIGN.md and docs/architecture.md):
//! [`model`] holds them and imports nothing else of the crate; [`analyze`] is the interface
//! every producer implements (evidence, hashsets, media, vision, comms, text, places depend on
//! these two, not on the engine or the store). [`store`] owns the case directory and every SQL
//! statement; [`engine`] runs the analyzers over each item on one path and the whole-case
//! passes, with one writer; [`leads`] turns observations into ranked proposals (pure
//! evaluation); [`review`] records the human decisions; [`report`] writes what a court reads.
//! [`cli`] only parses, dispatches and prints.

pub mod analyze;
pub mod bench;
pub mod cli;
pub mod comms;
pub mod demo;
pub mod engine;
pub mod evidence;
pub mod graph;
pub mod hashsets;
pub mod interest;
pub mod leads;
pub mod media;
pub mod model;
pub mod places;
pub mod report;
pub mod review;
pub mod store;
pub mod text;
pub mod vision;
pub mod web;

pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit statuses (README "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    pub const FATAL: i32 = 1;
    pub const ITEM_ERRORS: i32 = 2;
    pub const MISMATCH: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}
