//! Scheduling the scan: plan validation, the walk → analyze → store pipeline, resume,
//! cancellation, and the rules pass that turns observations into leads.
//!
//! Shape of a scan (STYLE 8): a walker (a small pool of its own) lists each source into a
//! bounded channel; rayon workers read, hash and analyze each item; one writer thread commits. Nothing here prints:
//! progress is a set of atomic counters the CLI may draw.

pub mod analyzer;
mod item;
pub mod journal;
mod plan;
mod progress;
mod source;
mod video;
pub mod writer;

pub use item::ExpansionLimits;
use item::*;
pub use plan::{ScanPlan, ScanRequest, SourcePlan};
pub use progress::{CasePass, Progress};
use source::*;
use video::*;

use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

use rayon::prelude::*;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use crate::evidence::digest::{self, Sha256};
use crate::evidence::typing;
use crate::evidence::walk::{self, EntryKind, Timestamp, WalkEntry, WalkEvent};
use crate::hashsets::{self, HashSetIndex, HashSetSpec, LoadedHashSet};
use crate::leads::{self, RuleSet};
use crate::model::{ItemError, Stage};
use crate::store::{self, CaseDir, audit};
use analyzer::{Analyzer, ItemView};
use writer::{ErrorRecord, ItemResult, WriteMsg};

/// Batches of walked entries waiting for a worker. Bounded so a fast walker on a huge tree
/// cannot fill memory ahead of the hashing (fd and fclones do the same): at most
/// WALK_QUEUE x WALK_BATCH entries are in memory.
const WALK_QUEUE: usize = 64;
/// Entries handed to a worker at once, and results handed to the writer at once. One entry
/// per channel message spent ~10% of a small-file scan in futex wake-ups (perf, 25,000
/// files of 10 KB); batches of 64 remove that.
const WALK_BATCH: usize = 64;
/// A batch is also closed at this many bytes of file content, so that a few large files
/// spread over the workers instead of queueing behind one.
const WALK_BATCH_BYTES: u64 = 8 << 20;
/// Threads listing directories. On a warm local tree of 100,000 files the count made no
/// difference (1, 2, 4 threads: 4.5-4.8 s, within run-to-run noise); listing is cheap next to
/// hashing. On a network share or a slow image each `getdents`/`statx` waits, and a second
/// thread hides some of that latency.
const WALK_THREADS: usize = 2;
/// Finished batches waiting for the writer.
const WRITE_QUEUE: usize = 64;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SourceSummary {
    pub id: i64,
    pub label: String,
    pub root: String,
    pub files: i64,
    pub dirs: i64,
    pub other: i64,
    pub bytes: i64,
    pub errors: i64,
    /// Files matching a known-bad set, and files matching only known-good sets (ignorable).
    pub known_bad: i64,
    pub known_good: i64,
    /// Items made from the evidence files (zip members, attachments, MMS parts, keyframes):
    /// in the case and its exports beside the files, not in the file count.
    pub derived: i64,
    pub root_digest: String,
    pub complete: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScanSummary {
    pub run_id: i64,
    pub interrupted: bool,
    pub sources: Vec<SourceSummary>,
    pub items_processed: u64,
    pub items_already_stored: u64,
    pub errors: i64,
    pub crash_suspects: Vec<String>,
    pub hashset_problems: Vec<String>,
    pub leads: leads::LeadCounts,
    /// Wall time of each stage (the items, each whole-case pass by `CasePass::name`, the
    /// leads), as the scan-complete audit entry records it (`spoor bench` reads it here).
    #[serde(skip)]
    pub stage_seconds: Vec<(String, f64)>,
}

/// Called with (source root, relative path) just before a regular file is opened.
pub type BeforeOpen<'a> = &'a (dyn Fn(&Path, &[u8]) + Sync);

/// Seams for tests and embedders: extra analyzers run after the built-in ones, and a
/// callback just before each regular file is opened (to make a file vanish or change at a
/// known moment).
#[derive(Default)]
pub struct ScanHooks<'a> {
    pub extra_analyzers: Vec<Box<dyn Analyzer>>,
    pub before_open: Option<BeforeOpen<'a>>,
    /// Other bounds on what one evidence file expands to (default: [`ExpansionLimits`]).
    pub expansion_limits: Option<ExpansionLimits>,
}

/// Runs a validated plan. `stop` is polled by the walker and every worker (Ctrl-C).
pub fn run_scan(
    plan: &ScanPlan,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<ScanSummary, String> {
    run_scan_with(plan, progress, stop, ScanHooks::default())
}

pub fn run_scan_with(
    plan: &ScanPlan,
    progress: &Progress,
    stop: &AtomicBool,
    hooks: ScanHooks,
) -> Result<ScanSummary, String> {
    let mut conn = store::open_store(&plan.case)?;
    let db = |e: rusqlite::Error| format!("case store: {e}");

    let crash_suspects = recover_journal(&plan.case, &conn)?;
    let (run_id, source_ids) = begin_run(&mut conn, plan)?;
    let index = Arc::new(HashSetIndex::new(plan.hashsets.clone()));
    let stored_before = store::scan::last_item_id(&conn).map_err(db)?;
    let mut analyzers = built_in_analyzers(plan, &index);
    analyzers.extend(hooks.extra_analyzers);
    for a in &analyzers {
        store::record_error_margin(&conn, a.name(), a.version(), a.error_margin()).map_err(db)?;
    }
    store::record_error_margin(&conn, VIDEO_STAGE, VIDEO_STAGE_VERSION, VIDEO_MARGIN)
        .map_err(db)?;
    let walked = WalkSettings {
        analyzers: &analyzers,
        before_open: hooks.before_open,
        expansion_limits: hooks.expansion_limits.unwrap_or_default(),
    };
    // Wall time per stage, in the scan-complete audit entry (scripts/bench-leads.sh).
    let mut stage_seconds: Vec<(String, f64)> = Vec::new();
    let clock = std::time::Instant::now();
    let (processed, already) =
        scan_sources(&conn, plan, run_id, &source_ids, &walked, progress, stop)?;
    stage_seconds.push((
        "items (walk, digests, analyzers, models)".into(),
        clock.elapsed().as_secs_f64(),
    ));

    let mut interrupted = stop.load(Ordering::Relaxed);
    if !interrupted && !index.is_empty() {
        let ids: Vec<i64> = source_ids.iter().map(|(id, _)| *id).collect();
        rematch_stored(
            &mut conn,
            &ids,
            stored_before,
            &analyzer::HashSetAnalyzer { index },
        )
        .map_err(db)?;
    }
    if !interrupted {
        interrupted = run_case_passes(&mut conn, plan, progress, stop, &mut stage_seconds)?;
    }
    let finished = Timestamp::now().to_rfc3339();
    let clock = std::time::Instant::now();
    let mut sources = Vec::new();
    for (id, source) in &source_ids {
        sources.push(finish_source(&conn, *id, source, !interrupted, &finished).map_err(db)?);
    }
    stage_seconds.push((
        "source totals and root digests".into(),
        clock.elapsed().as_secs_f64(),
    ));
    let clock = std::time::Instant::now();
    let lead_counts = if interrupted {
        leads::LeadCounts::default()
    } else {
        leads::rebuild(&mut conn, &plan.rules).map_err(db)?
    };
    stage_seconds.push(("leads".into(), clock.elapsed().as_secs_f64()));
    let errors: i64 = sources.iter().map(|s| s.errors).sum();
    let summary = ScanSummary {
        run_id,
        interrupted,
        sources,
        items_processed: processed,
        items_already_stored: already,
        errors,
        crash_suspects: crash_suspects
            .iter()
            .map(|(_, p, n)| {
                format!(
                    "{} (in flight at {n} crash{})",
                    crate::evidence::display_path(p),
                    if *n > 1 { "es" } else { "" }
                )
            })
            .collect(),
        hashset_problems: list_problems(plan),
        leads: lead_counts,
        stage_seconds: stage_seconds.clone(),
    };
    let details = json!({
        "run": run_id, "items_processed": processed, "errors": errors,
        "root_digests": summary.sources.iter().map(|s| json!({"label": s.label, "root_digest": s.root_digest, "complete": s.complete})).collect::<Vec<_>>(),
        "leads": summary.leads,
        "stage_seconds": stage_seconds.iter().map(|(k, v)| json!({"stage": k, "seconds": v})).collect::<Vec<_>>(),
    });
    let summary_json = serde_json::to_value(&summary).unwrap_or_default();
    store::scan::finish_run(
        &mut conn,
        run_id,
        &finished,
        interrupted,
        &summary_json,
        &plan.examiner,
        &details,
    )
    .map_err(db)?;
    // Every begun item is now either committed or known not to be: the journal has served.
    journal::clear(&plan.case.journal_path()).map_err(|e| format!("journal: {e}"))?;
    Ok(summary)
}

/// Each source of the plan with its id in the case.
type RegisteredSources<'p> = Vec<(i64, &'p SourcePlan)>;

/// The run's row, its sources, the rules, hash sets and PDQ lists in force, and the
/// `scan-start` audit entry, in one transaction. A label clash is fatal here, before anything
/// of this run is kept (the transaction is dropped) and before any evidence is read.
fn begin_run<'p>(
    conn: &mut Connection,
    plan: &'p ScanPlan,
) -> Result<(i64, RegisteredSources<'p>), String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let started = Timestamp::now().to_rfc3339();
    let config_digest = plan.config_digest();
    let tx = conn.transaction().map_err(db)?;
    let run_id = store::scan::begin_run(
        &tx,
        &started,
        &plan.examiner,
        &config_digest,
        &plan.rules.digest,
    )
    .map_err(db)?;
    let mut source_ids = Vec::new();
    for source in &plan.sources {
        let id = store::scan::register_source(
            &tx,
            &source.root,
            &source.label,
            source.label_given,
            &plan.examiner,
            &started,
        )?;
        source_ids.push((id, source));
    }
    store::meta_set(&tx, "config_digest", &config_digest).map_err(db)?;
    let rules = store::scan::RulesInForce {
        digest: &plan.rules.digest,
        version: &plan.rules.version,
        text: &plan.rules.source_text,
    };
    store::scan::record_rules_change(&tx, &plan.examiner, &rules).map_err(db)?;
    let hashset_meta: Vec<_> = plan.hashsets.iter().map(|h| json!({"name": h.name, "sha256": h.file_sha256.to_hex(), "format": h.parsed.format.as_str(), "status": h.spec.status.as_str(), "entries": h.parsed.entries.len(), "problems": h.parsed.problems.len()})).collect();
    audit::append(&tx, &plan.examiner, "scan-start", &json!({
        "run": run_id, "config_digest": config_digest, "rules_digest": plan.rules.digest,
        "sources": plan.sources.iter().map(|s| json!({"label": s.label, "root": s.root.to_string_lossy()})).collect::<Vec<_>>(),
        "hashsets": hashset_meta,
    }))
    .map_err(db)?;
    store::scan::store_hashsets(&tx, run_id, &plan.hashsets).map_err(db)?;
    store::scan::store_pdqlists(&tx, run_id, &plan.pdqlists).map_err(db)?;
    tx.commit().map_err(db)?;
    Ok((run_id, source_ids))
}

/// The per-item analyzers of every scan, in the order they run, then the plan's models.
fn built_in_analyzers(plan: &ScanPlan, index: &Arc<HashSetIndex>) -> Vec<Box<dyn Analyzer>> {
    let mut analyzers: Vec<Box<dyn Analyzer>> = vec![
        Box::new(analyzer::HashSetAnalyzer {
            index: index.clone(),
        }),
        Box::new(analyzer::ExtensionMismatchAnalyzer),
        Box::new(crate::media::ExifAnalyzer),
        Box::new(crate::media::PdqAnalyzer),
        Box::new(crate::media::AnimationAnalyzer),
        Box::new(crate::comms::CommsAnalyzer {
            options: plan.comms.clone(),
        }),
        Box::new(crate::text::entities::TextEntityAnalyzer {
            region: plan.comms.region.clone(),
            is_export: {
                let options = plan.comms.clone();
                Box::new(move |head: &[u8]| crate::comms::is_export(head, &options))
            },
        }),
        Box::new(crate::evidence::archive::ZipAnalyzer),
    ];
    analyzers.extend(
        plan.models
            .iter()
            .map(|m| Box::new(m.clone()) as Box<dyn Analyzer>),
    );
    analyzers
}

/// What every source of a scan is walked with.
struct WalkSettings<'a> {
    analyzers: &'a [Box<dyn Analyzer>],
    before_open: Option<BeforeOpen<'a>>,
    expansion_limits: ExpansionLimits,
}

/// Walks every source into the one writer thread; returns (processed, already stored).
fn scan_sources(
    conn: &Connection,
    plan: &ScanPlan,
    run_id: i64,
    source_ids: &[(i64, &SourcePlan)],
    walked: &WalkSettings,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<(u64, u64), String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let thumbs_dir = plan.case.root.join("thumbs");
    let journal =
        journal::Journal::open(&plan.case.journal_path()).map_err(|e| format!("journal: {e}"))?;
    let writer_conn = store::open_bulk_writer(&plan.case)?;
    let _checkpoint = store::BackgroundCheckpoint::start(&plan.case)?;
    let (tx, rx) = sync_channel::<WriteMsg>(WRITE_QUEUE);
    let writer = std::thread::Builder::new()
        .name("spoor-writer".into())
        .spawn(move || writer::run(writer_conn, run_id, rx))
        .map_err(|e| format!("writer thread: {e}"))?;
    let mut processed = 0u64;
    let mut already = 0u64;
    for &(source_id, source) in source_ids {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let ctx = SourceContext {
            source_id,
            label: &source.label,
            done: store::scan::stored_paths(conn, source_id).map_err(db)?,
            suspects: store::scan::crash_suspects(conn, source_id).map_err(db)?,
            analyzers: walked.analyzers,
            text_region: plan.comms.region.as_deref(),
            journal: &journal,
            progress,
            stop,
            root: &source.root,
            before_open: walked.before_open,
            expansion_limits: walked.expansion_limits,
            thumbs: &thumbs_dir,
            video: &plan.video,
            decode_need: (!walked.analyzers.iter().any(|a| a.needs_full_resolution())).then(|| {
                crate::media::turbojpeg::Need {
                    min_side: walked
                        .analyzers
                        .iter()
                        .map(|a| a.min_picture_side())
                        .fold(crate::media::turbojpeg::THUMBNAIL_SIDE, u32::max),
                }
            }),
        };
        let (p, a) = scan_source(&ctx, &source.root, &tx);
        processed += p;
        already += a;
    }
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| "writer thread panicked".to_string())?;
    written
        .map_err(|e| format!("case store write failed; rerun the same command to resume: {e}"))?;
    Ok((processed, already))
}

/// The whole-case passes, one after the other: each reads a typed view of the case, returns
/// what it found, and the store replaces what that pass wrote before (so one cut short by
/// Ctrl-C is simply run again by the next scan). The stop flag is polled between them and the
/// one running is shown in the progress. Returns whether the scan was stopped.
fn run_case_passes(
    conn: &mut Connection,
    plan: &ScanPlan,
    progress: &Progress,
    stop: &AtomicBool,
    stage_seconds: &mut Vec<(String, f64)>,
) -> Result<bool, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let radius = crate::media::neardup::DEFAULT_MAX_DISTANCE;
    let mut interrupted = false;
    for pass in CasePass::ALL {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        progress
            .case_pass
            .store(pass as usize + 1, Ordering::Relaxed);
        let clock = std::time::Instant::now();
        let found = match pass {
            CasePass::NearDuplicates => {
                let pictures = store::pdq_observations(conn).map_err(db)?;
                Some(crate::media::near_duplicates(&pictures, radius)?)
            }
            CasePass::PdqLists if !plan.pdqlists.is_empty() => {
                let pictures = store::pdq_observations(conn).map_err(db)?;
                Some(crate::media::match_pdq_lists(
                    &pictures,
                    &plan.pdqlists,
                    radius,
                ))
            }
            CasePass::PdqLists => None,
            CasePass::Places => match &plan.geocode {
                Some((gazetteer, radius_m)) => {
                    let positions = store::gps_observations(conn).map_err(db)?;
                    Some(crate::places::places(&positions, gazetteer, *radius_m))
                }
                None => None,
            },
            CasePass::Similarity => match &plan.similarity {
                Some(similarity) => {
                    let pictures =
                        store::embedding_observations(conn, &similarity.model).map_err(db)?;
                    Some(crate::vision::embedding::similarity_pass(
                        &pictures, similarity,
                    )?)
                }
                None => None,
            },
            CasePass::Keywords => match &plan.keywords {
                Some(keywords) => {
                    let texts = store::case_texts(conn).map_err(db)?;
                    Some(crate::text::index::keyword_hits(&texts, keywords))
                }
                None => None,
            },
            CasePass::Interest => {
                let lists = &plan.interest;
                if lists.watchlist.is_some() || lists.places.is_some() || lists.objects.is_some() {
                    let parties = lists
                        .watchlist
                        .as_ref()
                        .map(|w| w.identifiers())
                        .unwrap_or_default();
                    // The places themselves, for the map of the review UI (the observations
                    // hold only the pictures' positions).
                    if let Some(p) = &lists.places {
                        let places = serde_json::json!({"file": p.file, "sha256": p.sha256, "places": p.places.iter().map(|q| serde_json::json!({
                            "name": q.name, "latitude": q.latitude, "longitude": q.longitude, "radius_m": q.radius_m,
                        })).collect::<Vec<_>>()});
                        store::meta_set(conn, "places_of_interest", &places.to_string())
                            .map_err(db)?;
                    }
                    let inputs = store::interest_inputs(conn, &parties).map_err(db)?;
                    for found in crate::interest::matches(lists, &inputs) {
                        store::store_pass(conn, &found).map_err(db)?;
                    }
                }
                None
            }
            CasePass::Network => {
                crate::graph::store_observations(conn)?;
                None
            }
            CasePass::WordIndex => {
                let texts = store::case_texts(conn).map_err(db)?;
                crate::text::index::rebuild(&texts, &plan.case.root)?;
                None
            }
        };
        if let Some(found) = found {
            store::store_pass(conn, &found).map_err(db)?;
        }
        stage_seconds.push((pass.name().to_string(), clock.elapsed().as_secs_f64()));
        progress.case_passes_done.fetch_add(1, Ordering::Relaxed);
    }
    progress.case_pass.store(0, Ordering::Relaxed);
    Ok(interrupted)
}

/// Every problem found in the hash sets and PDQ lists, named by their set.
fn list_problems(plan: &ScanPlan) -> Vec<String> {
    let sets = plan.hashsets.iter().flat_map(|h| {
        h.parsed
            .problems
            .iter()
            .map(move |p| format!("{}: {p}", h.name))
    });
    let lists = plan
        .pdqlists
        .iter()
        .flat_map(|l| l.problems.iter().map(move |p| format!("{}: {p}", l.name)));
    sets.chain(lists).collect()
}

/// Reads the journal of a run that died, counts a crash for each item it left in flight, and
/// returns those items.
fn recover_journal(case: &CaseDir, conn: &Connection) -> Result<Vec<(i64, Vec<u8>, i64)>, String> {
    let path = case.journal_path();
    let unfinished =
        journal::unfinished(&path).map_err(|e| format!("journal {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (source_id, rel) in unfinished {
        if let Some(crashes) =
            store::scan::count_crash(conn, source_id, &rel).map_err(|e| e.to_string())?
        {
            out.push((source_id, rel, crashes));
        }
    }
    journal::clear(&path).map_err(|e| format!("journal {}: {e}", path.display()))?;
    Ok(out)
}

/// Matches the hash sets of this run against items stored by earlier runs (their digests are
/// in the store; the evidence is not read again), so a set added later is never silently
/// ignored for what was scanned before it. Idempotent: an observation already present is kept.
fn rematch_stored(
    conn: &mut Connection,
    source_ids: &[i64],
    stored_before: i64,
    matcher: &analyzer::HashSetAnalyzer,
) -> rusqlite::Result<()> {
    let mut found = Vec::new();
    for source_id in source_ids {
        for stored in store::scan::stored_digests(conn, *source_id, stored_before)? {
            for o in matcher.observe(&stored.digests, stored.size) {
                found.push((stored.item, matcher.name(), matcher.version(), o));
            }
        }
    }
    store::items::add_observations(conn, &found)
}

fn finish_source(
    conn: &Connection,
    id: i64,
    source: &SourcePlan,
    complete: bool,
    now: &str,
) -> rusqlite::Result<SourceSummary> {
    let totals = store::scan::source_totals(conn, id)?;
    let root_digest = crate::evidence::root_digest(
        totals
            .evidence_digests
            .iter()
            .map(|(p, d)| (p.as_slice(), d))
            .collect(),
    )
    .to_hex();
    store::scan::record_source_end(conn, id, &totals, &root_digest, complete, now)?;
    Ok(SourceSummary {
        id,
        label: totals.label,
        root: source.root.to_string_lossy().into_owned(),
        files: totals.files,
        dirs: totals.dirs,
        other: totals.other,
        bytes: totals.bytes,
        errors: totals.errors,
        known_bad: totals.known_bad,
        known_good: totals.known_good,
        derived: totals.derived,
        root_digest,
        complete,
    })
}

/// The action `spoor verify` performs (the CLI now, the web UI later): re-verifies every
/// source against what the case recorded and writes the outcome, with who asked, to the
/// audit log.
pub fn verify_and_record(
    conn: &Connection,
    actor: &str,
) -> Result<Vec<crate::evidence::verify::SourceVerification>, String> {
    let recorded =
        crate::store::evidence_as_recorded(conn).map_err(|e| format!("case store: {e}"))?;
    let results = crate::evidence::verify::verify_sources(recorded);
    audit::append(
        conn,
        actor,
        "verify",
        &serde_json::to_value(&results).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    Ok(results)
}
