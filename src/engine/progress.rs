//! Progress as counters in the core (the CLI draws them as bars), and the whole-case passes
//! in the order they run.

use super::*;

/// Counters the CLI may draw; updated by the workers with relaxed atomics.
#[derive(Default)]
pub struct Progress {
    pub entries_walked: AtomicU64,
    pub bytes_walked: AtomicU64,
    pub items_done: AtomicU64,
    pub bytes_done: AtomicU64,
    pub items_skipped: AtomicU64,
    pub errors: AtomicU64,
    pub walk_finished: AtomicBool,
    /// The whole-case pass running now, as `CasePass as usize + 1` (0: none).
    pub case_pass: std::sync::atomic::AtomicUsize,
    pub case_passes_done: AtomicU64,
}

/// The passes over the whole case after every item is stored, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CasePass {
    NearDuplicates,
    PdqLists,
    Places,
    Similarity,
    Keywords,
    Interest,
    Network,
    WordIndex,
}

impl CasePass {
    pub const ALL: [CasePass; 8] = [
        CasePass::NearDuplicates,
        CasePass::PdqLists,
        CasePass::Places,
        CasePass::Similarity,
        CasePass::Keywords,
        CasePass::Interest,
        CasePass::Network,
        CasePass::WordIndex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CasePass::NearDuplicates => "near-duplicate pictures",
            CasePass::PdqLists => "PDQ lists",
            CasePass::Places => "places",
            CasePass::Similarity => "similar pictures",
            CasePass::Keywords => "watch-list terms",
            CasePass::Interest => "lists of interest",
            CasePass::Network => "network",
            CasePass::WordIndex => "word index",
        }
    }

    /// The pass a [`Progress::case_pass`] value names.
    pub fn from_progress(value: usize) -> Option<CasePass> {
        value
            .checked_sub(1)
            .and_then(|i| CasePass::ALL.get(i).copied())
    }
}
