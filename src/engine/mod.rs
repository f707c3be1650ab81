//! Scheduling the scan: plan validation, the walk → analyze → store pipeline, resume,
//! cancellation, and the rules pass that turns observations into leads.
//!
//! Shape of a scan (STYLE 8): a walker (a small pool of its own) lists each source into a
//! bounded channel; rayon workers read, hash and analyze each item; one writer thread commits. Nothing here prints:
//! progress is a set of atomic counters the CLI may draw.

pub mod analyzer;
pub mod journal;
pub mod writer;

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

/// What the examiner asked for, before validation.
#[derive(Clone, Debug, Default)]
pub struct ScanRequest {
    pub evidence: Vec<PathBuf>,
    pub case_dir: PathBuf,
    pub examiner: String,
    pub labels: Vec<String>,
    pub hashsets: Vec<HashSetSpec>,
    /// PDQ lists of known images, given like hash sets.
    pub pdqlists: Vec<HashSetSpec>,
    pub rules_file: Option<PathBuf>,
    /// How video keyframes are chosen.
    pub video: crate::media::video::VideoOptions,
    /// Models to run (`--models`): names from models/manifest.toml. None by default yet.
    pub models: Vec<String>,
    /// Cluster GPS positions into places within this radius (metres) and name each offline
    /// (`--geocode`); `None`: not asked for.
    pub geocode_radius_m: Option<f64>,
    /// A reference gallery of known places (`--places`).
    pub places_gallery: Option<PathBuf>,
    /// Least cosine similarity of embeddings for similar-picture and gallery observations.
    pub similar_threshold: f32,
    /// Sessions per model (`--model-sessions`); default one per worker thread.
    pub model_sessions: Option<usize>,
    /// Default region for phone numbers without a country code (`--region NL`).
    pub region: Option<String>,
    /// The device owners' own identifiers (`--owner`).
    pub owners: Vec<String>,
    /// CDR CSV layouts (`--cdr-mapping`).
    pub cdr_mappings: Vec<crate::comms::cdr::Mapping>,
    /// A watch list of terms (`--keywords`).
    pub keywords: Option<PathBuf>,
}

pub struct SourcePlan {
    pub root: PathBuf,
    pub label: String,
    /// Given with --label (else derived from the directory name).
    pub label_given: bool,
}

/// A scan with every fatal condition already ruled out.
pub struct ScanPlan {
    pub case: CaseDir,
    pub sources: Vec<SourcePlan>,
    pub examiner: String,
    pub hashsets: Vec<LoadedHashSet>,
    pub pdqlists: Vec<crate::media::pdqlist::PdqList>,
    pub rules: RuleSet,
    pub video: crate::media::video::VideoOptions,
    /// Loaded models, checked before any evidence is read.
    pub models: Vec<Arc<dyn Analyzer>>,
    /// The gazetteer and radius for `--geocode`.
    pub geocode: Option<(crate::places::Gazetteer, f64)>,
    /// Embedding comparison after the scan, when a model gives embeddings.
    pub similarity: Option<crate::vision::embedding::Similarity>,
    /// Default phone region and device owners for the comms parsers.
    pub comms: crate::comms::CommsOptions,
    /// The watch list, loaded.
    pub keywords: Option<crate::text::index::Keywords>,
}

impl ScanPlan {
    /// Checks everything that can stop a scan, cheapest first, before any evidence is read:
    /// examiner named, sources are directories, labels unique, the case is not inside a
    /// source (it would write into evidence), the rules parse, the case directory is
    /// writable, and each hash set is readable and recognised.
    pub fn resolve(req: &ScanRequest) -> Result<ScanPlan, String> {
        if req.examiner.trim().is_empty() {
            return Err("--examiner must name the person responsible for this scan".into());
        }
        if req.evidence.is_empty() {
            return Err("no evidence directory given".into());
        }
        if req.labels.len() > req.evidence.len() {
            return Err(format!(
                "{} labels for {} evidence sources",
                req.labels.len(),
                req.evidence.len()
            ));
        }
        let mut sources = Vec::new();
        let mut labels = HashSet::new();
        for (i, dir) in req.evidence.iter().enumerate() {
            let meta =
                std::fs::metadata(dir).map_err(|e| format!("evidence {}: {e}", dir.display()))?;
            if !meta.is_dir() {
                return Err(format!("evidence {}: not a directory", dir.display()));
            }
            let root = dir
                .canonicalize()
                .map_err(|e| format!("evidence {}: {e}", dir.display()))?;
            let label = match req.labels.get(i) {
                Some(l) if !l.trim().is_empty() => l.trim().to_string(),
                Some(_) => return Err("an empty --label".into()),
                None => root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "root".into()),
            };
            if !labels.insert(label.clone()) {
                return Err(format!(
                    "two sources would be labelled {label:?}: give each a --label"
                ));
            }
            sources.push(SourcePlan {
                root,
                label,
                label_given: req.labels.get(i).is_some(),
            });
        }
        let rules = match &req.rules_file {
            Some(path) => RuleSet::from_file(path)?,
            None => RuleSet::default_set(),
        };
        let case_abs = absolute(&req.case_dir);
        for s in &sources {
            if case_abs.starts_with(&s.root) {
                return Err(format!(
                    "case directory {} is inside evidence source {}: evidence is never written to",
                    req.case_dir.display(),
                    s.root.display()
                ));
            }
        }
        // Models load before the case is touched: a missing library or model is fatal here.
        let keywords = req
            .keywords
            .as_deref()
            .map(crate::text::index::Keywords::load)
            .transpose()?;
        let (models, embedder) = load_models(&req.models, req.model_sessions)?;
        let similarity = match (embedder, &req.places_gallery) {
            (None, Some(dir)) => {
                return Err(format!(
                    "--places {}: needs a model with an embedding in --models (e.g. nsfwjs)",
                    dir.display()
                ));
            }
            (None, None) => None,
            (Some(model), gallery) => {
                let gallery = match gallery {
                    Some(dir) => Some((
                        crate::vision::embedding::Gallery::load(dir, &|img| {
                            model
                                .run(img)?
                                .embedding
                                .ok_or_else(|| "no embedding".to_string())
                        })?,
                        req.similar_threshold,
                    )),
                    None => None,
                };
                Some(crate::vision::embedding::Similarity {
                    model: model.entry.name.clone(),
                    threshold: req.similar_threshold,
                    k: crate::vision::embedding::NEIGHBOURS,
                    gallery,
                })
            }
        };
        let geocode = match req.geocode_radius_m {
            Some(r) => Some((
                crate::places::Gazetteer::load(&crate::vision::models_dir())?,
                r,
            )),
            None => None,
        };
        let case = store::prepare_for_writing(&req.case_dir)?;
        let loaded = req
            .hashsets
            .iter()
            .map(hashsets::load)
            .collect::<Result<Vec<_>, _>>()
            .and_then(|sets| {
                let lists = req
                    .pdqlists
                    .iter()
                    .map(crate::media::pdqlist::load)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((sets, lists))
            });
        let (hashsets, pdqlists) = match loaded {
            Ok(both) => both,
            Err(e) => {
                // Leave no empty case behind for a run that never started.
                if case.created {
                    let _ = std::fs::remove_dir_all(&case.root);
                }
                return Err(e);
            }
        };
        Ok(ScanPlan {
            case,
            sources,
            examiner: req.examiner.trim().to_string(),
            hashsets,
            pdqlists,
            rules,
            video: req.video.clone(),
            models,
            geocode,
            similarity,
            comms: crate::comms::CommsOptions {
                region: req.region.clone(),
                owners: req.owners.clone(),
                cdr_mappings: req.cdr_mappings.clone(),
            },
            keywords,
        })
    }

    /// Digest of what decides the results: sources, hash set files, rules.
    pub fn config_digest(&self) -> String {
        let cfg = json!({
            "sources": self.sources.iter().map(|s| json!({"label": s.label, "root": s.root.to_string_lossy()})).collect::<Vec<_>>(),
            "hashsets": self.hashsets.iter().map(|h| json!({"name": h.name, "sha256": h.file_sha256.to_hex(), "status": h.spec.status.as_str(), "category": h.spec.category})).collect::<Vec<_>>(),
            "pdqlists": self.pdqlists.iter().map(|l| json!({"name": l.name, "sha256": l.file_sha256.to_hex(), "status": l.spec.status.as_str(), "category": l.spec.category})).collect::<Vec<_>>(),
            "rules_digest": self.rules.digest,
            "models": self.models.iter().map(|m| json!({"name": m.name(), "version": m.version()})).collect::<Vec<_>>(),
            "video": {"interval": self.video.interval, "scene_threshold": self.video.scene_threshold, "min_gap": self.video.min_gap, "max_frames": self.video.max_frames},
        });
        audit::digest_hex(cfg.to_string().as_bytes())
    }
}

/// The analyzers of the models asked for, each loaded once (its sessions shared by the workers).
/// Also the first model with an embedding output, for the similarity pass and `--places`.
#[allow(clippy::type_complexity)]
fn load_models(
    names: &[String],
    sessions: Option<usize>,
) -> Result<
    (
        Vec<Arc<dyn Analyzer>>,
        Option<Arc<crate::vision::classifier::Classifier>>,
    ),
    String,
> {
    let mut embedder = None;
    if names.is_empty() {
        return Ok((Vec::new(), embedder));
    }
    let workers = sessions.unwrap_or_else(rayon::current_num_threads);
    let dir = crate::vision::models_dir();
    let manifest = crate::vision::manifest::Manifest::load(&dir)?;
    let mut out: Vec<Arc<dyn Analyzer>> = Vec::new();
    // `default` stands for the entries marked `default = true`.
    let mut expanded: Vec<String> = Vec::new();
    for name in names {
        if name == "default" {
            expanded.extend(
                manifest
                    .models
                    .iter()
                    .filter(|m| m.default)
                    .map(|m| m.name.clone()),
            );
        } else {
            expanded.push(name.clone());
        }
    }
    expanded.dedup();
    for name in &expanded {
        let Some(entry) = manifest.get(name) else {
            let known: Vec<&str> = manifest.models.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "--models: unknown model {name:?} (the manifest has: {})",
                known.join(", ")
            ));
        };
        if entry.embedding.is_some() || entry.head == "embedding" {
            let model = Arc::new(crate::vision::classifier::Classifier::load(
                entry, &dir, workers,
            )?);
            if embedder.is_none() {
                embedder = Some(model.clone());
            }
            out.push(model);
        } else {
            out.push(crate::vision::load_analyzer(entry, &dir, workers)?);
        }
    }
    Ok((out, embedder))
}

fn absolute(p: &Path) -> PathBuf {
    // The case directory may not exist yet: canonicalise the deepest existing ancestor.
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| std::path::absolute(&existing).unwrap_or(existing));
    for part in rest.into_iter().rev() {
        out.push(part);
    }
    out
}

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
    WordIndex,
}

impl CasePass {
    pub const ALL: [CasePass; 6] = [
        CasePass::NearDuplicates,
        CasePass::PdqLists,
        CasePass::Places,
        CasePass::Similarity,
        CasePass::Keywords,
        CasePass::WordIndex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CasePass::NearDuplicates => "near-duplicate pictures",
            CasePass::PdqLists => "PDQ lists",
            CasePass::Places => "places",
            CasePass::Similarity => "similar pictures",
            CasePass::Keywords => "watch-list terms",
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
    let started = Timestamp::now().to_rfc3339();
    let config_digest = plan.config_digest();
    let mut source_ids = Vec::new();
    let run_id = {
        let tx = conn.transaction().map_err(db)?;
        let run_id = store::scan::begin_run(
            &tx,
            &started,
            &plan.examiner,
            &config_digest,
            &plan.rules.digest,
        )
        .map_err(db)?;
        // A label clash is fatal here, before anything of this run is kept (the transaction
        // is dropped) and before any evidence is read.
        for source in &plan.sources {
            source_ids.push((
                store::scan::register_source(
                    &tx,
                    &source.root,
                    &source.label,
                    source.label_given,
                    &plan.examiner,
                    &started,
                )?,
                source,
            ));
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
        run_id
    };

    let index = Arc::new(HashSetIndex::new(plan.hashsets.clone()));
    let stored_before = store::scan::last_item_id(&conn).map_err(db)?;
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
    analyzers.extend(hooks.extra_analyzers);
    for a in &analyzers {
        store::record_error_margin(&conn, a.name(), a.version(), a.error_margin()).map_err(db)?;
    }
    store::record_error_margin(&conn, VIDEO_STAGE, VIDEO_STAGE_VERSION, VIDEO_MARGIN)
        .map_err(db)?;
    let thumbs_dir = plan.case.root.join("thumbs");

    let journal =
        journal::Journal::open(&plan.case.journal_path()).map_err(|e| format!("journal: {e}"))?;
    let writer_conn = store::open_bulk_writer(&plan.case)?;
    let (tx, rx) = sync_channel::<WriteMsg>(WRITE_QUEUE);
    let writer = std::thread::Builder::new()
        .name("spoor-writer".into())
        .spawn(move || writer::run(writer_conn, run_id, rx))
        .map_err(|e| format!("writer thread: {e}"))?;

    let mut processed = 0u64;
    let mut already = 0u64;
    for &(source_id, source) in &source_ids {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let ctx = SourceContext {
            source_id,
            label: &source.label,
            done: store::scan::stored_paths(&conn, source_id).map_err(db)?,
            suspects: store::scan::crash_suspects(&conn, source_id).map_err(db)?,
            analyzers: &analyzers,
            journal: &journal,
            progress,
            stop,
            root: &source.root,
            before_open: hooks.before_open,
            expansion_limits: hooks.expansion_limits.unwrap_or_default(),
            thumbs: &thumbs_dir,
            video: &plan.video,
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
    // The whole-case passes, one after the other: each is idempotent (it replaces what it
    // wrote before), so one cut short by Ctrl-C is simply run again by the next scan. The stop
    // flag is polled between them and the one running is shown in the progress.
    let radius = crate::media::neardup::DEFAULT_MAX_DISTANCE;
    for pass in CasePass::ALL {
        if interrupted || stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        progress
            .case_pass
            .store(pass as usize + 1, Ordering::Relaxed);
        match pass {
            CasePass::NearDuplicates => {
                let pictures = crate::store::pdq_observations(&conn).map_err(db)?;
                let found = crate::media::near_duplicates(&pictures, radius)?;
                crate::store::store_pass(&mut conn, &found).map_err(db)?;
            }
            CasePass::PdqLists if !plan.pdqlists.is_empty() => {
                let pictures = crate::store::pdq_observations(&conn).map_err(db)?;
                let found = crate::media::match_pdq_lists(&pictures, &plan.pdqlists, radius);
                crate::store::store_pass(&mut conn, &found).map_err(db)?;
            }
            CasePass::PdqLists => {}
            CasePass::Places => {
                if let Some((gazetteer, radius_m)) = &plan.geocode {
                    let positions = crate::store::gps_observations(&conn).map_err(db)?;
                    let found = crate::places::places(&positions, gazetteer, *radius_m);
                    crate::store::store_pass(&mut conn, &found).map_err(db)?;
                }
            }
            CasePass::Similarity => {
                if let Some(similarity) = &plan.similarity {
                    let pictures = crate::store::embedding_observations(&conn, &similarity.model)
                        .map_err(db)?;
                    let found = crate::vision::embedding::similarity_pass(&pictures, similarity)?;
                    crate::store::store_pass(&mut conn, &found).map_err(db)?;
                }
            }
            CasePass::Keywords => {
                if let Some(keywords) = &plan.keywords {
                    let texts = crate::store::case_texts(&conn).map_err(db)?;
                    let found = crate::text::index::keyword_hits(&texts, keywords);
                    crate::store::store_pass(&mut conn, &found).map_err(db)?;
                }
            }
            CasePass::WordIndex => {
                let texts = crate::store::case_texts(&conn).map_err(db)?;
                crate::text::index::rebuild(&texts, &plan.case.root)?;
            }
        }
        progress.case_passes_done.fetch_add(1, Ordering::Relaxed);
    }
    progress.case_pass.store(0, Ordering::Relaxed);
    let finished = Timestamp::now().to_rfc3339();
    let mut sources = Vec::new();
    for (id, source) in &source_ids {
        sources.push(finish_source(&conn, *id, source, !interrupted, &finished).map_err(db)?);
    }
    let lead_counts = if interrupted {
        leads::LeadCounts::default()
    } else {
        leads::rebuild(&mut conn, &plan.rules).map_err(db)?
    };
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
        hashset_problems: plan
            .hashsets
            .iter()
            .flat_map(|h| {
                h.parsed
                    .problems
                    .iter()
                    .map(move |p| format!("{}: {p}", h.name))
            })
            .chain(
                plan.pdqlists
                    .iter()
                    .flat_map(|l| l.problems.iter().map(move |p| format!("{}: {p}", l.name))),
            )
            .collect(),
        leads: lead_counts,
    };
    let details = json!({
        "run": run_id, "items_processed": processed, "errors": errors,
        "root_digests": summary.sources.iter().map(|s| json!({"label": s.label, "root_digest": s.root_digest, "complete": s.complete})).collect::<Vec<_>>(),
        "leads": summary.leads,
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

/// An item in flight at this many crashes is not read again.
const POISON_CRASHES: i64 = 2;

struct SourceContext<'a> {
    source_id: i64,
    label: &'a str,
    done: HashSet<Vec<u8>>,
    suspects: HashMap<Vec<u8>, i64>,
    analyzers: &'a [Box<dyn Analyzer>],
    journal: &'a journal::Journal,
    progress: &'a Progress,
    stop: &'a AtomicBool,
    root: &'a Path,
    before_open: Option<BeforeOpen<'a>>,
    expansion_limits: ExpansionLimits,
    thumbs: &'a Path,
    video: &'a crate::media::video::VideoOptions,
}

/// Walks one source and processes every entry not already stored. Returns (processed, already stored).
fn scan_source(ctx: &SourceContext, root: &Path, out: &SyncSender<WriteMsg>) -> (u64, u64) {
    let root_fd = match walk::open_root(root) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = out.send(WriteMsg::Error(ErrorRecord {
                source_id: ctx.source_id,
                path: Vec::new(),
                stage: Stage::Walk,
                reason: format!("open source root: {e}"),
            }));
            ctx.progress.errors.fetch_add(1, Ordering::Relaxed);
            return (0, 0);
        }
    };
    ctx.progress.walk_finished.store(false, Ordering::Relaxed);
    let (entry_tx, entry_rx) = sync_channel::<Vec<WalkEntry>>(WALK_QUEUE);
    let processed = AtomicU64::new(0);
    let already = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let walker_out = out.clone();
        let root_fd = &root_fd;
        scope.spawn(move || {
            // Each directory's entries arrive at once; split them into worker batches.
            let sink = |events: Vec<WalkEvent>| {
                let mut batch = Vec::with_capacity(WALK_BATCH.min(events.len()));
                let mut batch_bytes = 0u64;
                for event in events {
                    match event {
                        WalkEvent::Entry(entry) => {
                            ctx.progress.entries_walked.fetch_add(1, Ordering::Relaxed);
                            if entry.meta.kind == EntryKind::File {
                                ctx.progress
                                    .bytes_walked
                                    .fetch_add(entry.meta.size, Ordering::Relaxed);
                                batch_bytes += entry.meta.size;
                            }
                            batch.push(entry);
                            if batch.len() >= WALK_BATCH || batch_bytes >= WALK_BATCH_BYTES {
                                let _ = entry_tx.send(std::mem::replace(
                                    &mut batch,
                                    Vec::with_capacity(WALK_BATCH),
                                ));
                                batch_bytes = 0;
                            }
                        }
                        WalkEvent::Failure(f) => {
                            ctx.progress.errors.fetch_add(1, Ordering::Relaxed);
                            let _ = walker_out.send(WriteMsg::Error(ErrorRecord {
                                source_id: ctx.source_id,
                                path: f.rel_path,
                                stage: Stage::Walk,
                                reason: f.reason,
                            }));
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = entry_tx.send(batch);
                }
            };
            walk::walk(root_fd, ctx.stop, WALK_THREADS, &sink);
            ctx.progress.walk_finished.store(true, Ordering::Relaxed);
        });
        entry_rx.into_iter().par_bridge().for_each_init(
            || Vec::with_capacity(digest::READ_CHUNK),
            |buf, batch| {
                let mut results = Vec::with_capacity(batch.len());
                for entry in batch {
                    if ctx.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if ctx.done.contains(&entry.rel_path) {
                        already.fetch_add(1, Ordering::Relaxed);
                        ctx.progress.items_skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if let Some(result) = process_guarded(ctx, root_fd, entry, buf) {
                        ctx.progress
                            .errors
                            .fetch_add(result.errors.len() as u64, Ordering::Relaxed);
                        ctx.progress.items_done.fetch_add(1, Ordering::Relaxed);
                        processed.fetch_add(1, Ordering::Relaxed);
                        results.push(result);
                    }
                }
                if !results.is_empty() {
                    let _ = out.send(WriteMsg::Items(results));
                }
            },
        );
    });
    (processed.into_inner(), already.into_inner())
}

/// [`process_item`] between the journal marks, with a panic turned into the item's error.
fn process_guarded(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    entry: WalkEntry,
    buf: &mut Vec<u8>,
) -> Option<ItemResult> {
    ctx.journal.begin(ctx.source_id, &entry.rel_path);
    let path = entry.rel_path.clone();
    let fallback = entry.clone();
    let result =
        std::panic::catch_unwind(AssertUnwindSafe(|| process_item(ctx, root_fd, entry, buf)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Some(ItemResult {
                    source_id: ctx.source_id,
                    entry: fallback,
                    digests: None,
                    mime: None,
                    observations: Vec::new(),
                    errors: vec![ItemError::new(
                        Stage::Engine,
                        format!("panic while processing: {msg}"),
                    )],
                    children: Vec::new(),
                    records: Vec::new(),
                })
            });
    ctx.journal.end(ctx.source_id, &path);
    result
}

/// Reads, hashes and analyzes one entry. `None` when cancelled mid-read (not done: a rerun
/// does it again).
fn process_item(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    entry: WalkEntry,
    buf: &mut Vec<u8>,
) -> Option<ItemResult> {
    let mut result = ItemResult {
        source_id: ctx.source_id,
        entry,
        digests: None,
        mime: None,
        observations: Vec::new(),
        errors: Vec::new(),
        children: Vec::new(),
        records: Vec::new(),
    };
    if let Some(&crashes) = ctx.suspects.get(&result.entry.rel_path)
        && crashes >= POISON_CRASHES
    {
        result.errors.push(ItemError::new(Stage::Resume, format!("in flight during {crashes} interrupted scans; not read again (possible poison file)")));
        return Some(result);
    }
    if result.entry.meta.kind != EntryKind::File {
        // Directories, links, FIFOs, sockets and devices are recorded, never opened.
        return Some(result);
    }
    let mut head = Vec::new();
    if let Some(hook) = ctx.before_open {
        hook(ctx.root, &result.entry.rel_path);
    }
    // Typed once, from the first chunk: that also decides whether an analyzer needs the
    // whole content kept while the file is hashed.
    let typed: std::cell::RefCell<Option<typing::ContentType>> = std::cell::RefCell::new(None);
    let size = result.entry.meta.size;
    let keep = |first: &[u8]| {
        let ct = typing::detect(&first[..first.len().min(digest::HEAD_LEN)]);
        let wanted = ctx.analyzers.iter().any(|a| a.wants_content(&ct, size));
        *typed.borrow_mut() = Some(ct);
        wanted
    };
    let mut content = None;
    match walk::open_regular_file(root_fd, &result.entry.rel_path) {
        Err(e) => result
            .errors
            .push(ItemError::new(Stage::Read, format!("open: {e}"))),
        Ok(file) => match digest::digest_reader_keeping(
            file,
            buf,
            &|| ctx.stop.load(Ordering::Relaxed),
            &keep,
        ) {
            Err(e)
                if ctx.stop.load(Ordering::Relaxed)
                    && e.kind() == std::io::ErrorKind::Interrupted =>
            {
                return None;
            }
            Err(e) => result
                .errors
                .push(ItemError::new(Stage::Read, format!("read: {e}"))),
            Ok(outcome) => {
                ctx.progress
                    .bytes_done
                    .fetch_add(outcome.bytes, Ordering::Relaxed);
                if outcome.bytes != result.entry.meta.size {
                    result.errors.push(ItemError::new(
                        Stage::Read,
                        format!(
                            "size changed during the scan: listed {} bytes, read {}",
                            result.entry.meta.size, outcome.bytes
                        ),
                    ));
                }
                result.digests = Some(outcome.digests);
                head = outcome.head;
                content = outcome.content;
            }
        },
    }
    let content_type = result
        .digests
        .is_some()
        .then(|| typed.take().unwrap_or_else(|| typing::detect(&head)));
    result.mime = content_type.as_ref().map(|c| c.mime.clone());
    let decoded = match (&content_type, &result.digests) {
        (Some(ct), Some(_)) if crate::media::decodable(&ct.mime) => {
            decode_image(content.as_deref(), &ct.mime, size, &mut result.errors)
        }
        _ => None,
    };
    let decoder = content_type
        .as_ref()
        .map_or("", |ct| crate::media::decoder_name(&ct.mime));
    let companion = |suffix: &str| -> Option<Result<Vec<u8>, String>> {
        use std::io::Read;
        let path = [result.entry.rel_path.as_slice(), suffix.as_bytes()].concat();
        let file = match walk::open_regular_file(root_fd, &path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("open: {e}"))),
            Ok(f) => f,
        };
        let mut bytes = Vec::new();
        let limit = crate::comms::MAX_IN_MEMORY;
        Some(match file.take(limit + 1).read_to_end(&mut bytes) {
            Err(e) => Err(format!("read: {e}")),
            Ok(n) if n as u64 > limit => Err(format!("over {} MiB; not read", limit >> 20)),
            Ok(_) => Ok(bytes),
        })
    };
    let reopen = || {
        walk::open_regular_file(root_fd, &result.entry.rel_path).map_err(|e| format!("open: {e}"))
    };
    let view = ItemView {
        source_label: ctx.label,
        entry: &result.entry,
        digests: result.digests.as_ref(),
        content_type: content_type.as_ref(),
        head: &head,
        content: content.as_deref(),
        image: decoded.as_ref(),
        decoder,
        companion: Some(&companion),
        reopen: Some(&reopen),
        expand: true,
    };
    let mut expansion = Expansion::default();
    if let Some(d) = &result.digests {
        expansion.expanded.insert(d.sha256);
    }
    let thumb_key = result.digests.as_ref().map(|d| d.sha256.to_hex());
    let examined = examine(
        ctx,
        &view,
        thumb_key,
        Some(VideoBytes::Evidence(root_fd)),
        1,
        &mut expansion,
    );
    drop(decoded);
    drop(content);
    result.observations = examined.observations;
    result.errors.extend(examined.errors);
    result.records = examined.records;
    result.children = examined.descendants;
    if ctx.stop.load(Ordering::Relaxed) {
        // A container's children or a video's keyframes may have been cut short by Ctrl-C:
        // not stored half done, a rerun does the whole item again.
        return None;
    }
    Some(result)
}

/// Decodes an image item once for all analyzers; a failure is the item's error record.
fn decode_image(
    content: Option<&[u8]>,
    mime: &str,
    size: u64,
    errors: &mut Vec<ItemError>,
) -> Option<image::DynamicImage> {
    let Some(bytes) = content else {
        errors.push(ItemError::new(
            Stage::ImageDecode,
            format!(
                "image of {size} bytes is over the {} MiB decode limit; not decoded",
                crate::media::MAX_IMAGE_BYTES >> 20
            ),
        ));
        return None;
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| crate::media::decode(bytes, mime))) {
        Ok(Ok(img)) => Some(img),
        Ok(Err(reason)) => {
            errors.push(ItemError::new(Stage::ImageDecode, reason));
            None
        }
        Err(_) => {
            errors.push(ItemError::new(Stage::ImageDecode, "decoder panicked"));
            None
        }
    }
}

type Observed = Vec<(&'static str, &'static str, analyzer::ObservationDraft)>;
type Recorded = Vec<(&'static str, &'static str, crate::comms::CommRecord)>;

/// What the analyzers made of one item.
struct Analysed {
    observations: Observed,
    errors: Vec<ItemError>,
    records: Recorded,
    embedded: Vec<crate::comms::Embedded>,
}

/// Every analyzer that accepts the view, each behind its own panic guard.
fn run_analyzers(analyzers: &[Box<dyn Analyzer>], view: &ItemView) -> Analysed {
    let mut observations = Vec::new();
    let mut errors = Vec::new();
    let mut records = Vec::new();
    let mut embedded = Vec::new();
    for a in analyzers {
        if !a.accepts(view) {
            continue;
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| a.analyze_full(view))) {
            Ok(Ok(analysis)) => {
                let (name, version) = (a.name(), a.version());
                observations.extend(
                    analysis
                        .observations
                        .into_iter()
                        .map(|o| (name, version, o)),
                );
                records.extend(analysis.records.into_iter().map(|r| (name, version, r)));
                errors.extend(
                    analysis
                        .damage
                        .into_iter()
                        .map(|d| ItemError::new(Stage::Analyzer(name), d)),
                );
                embedded.extend(analysis.embedded);
            }
            Ok(Err(reason)) => errors.push(ItemError::new(Stage::Analyzer(a.name()), reason)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                errors.push(ItemError::new(
                    Stage::Analyzer(a.name()),
                    format!("analyzer panicked: {message}"),
                ))
            }
        }
    }
    Analysed {
        observations,
        errors,
        records,
        embedded,
    }
}

/// The walk entry of an item made from another (a keyframe, an attachment): no inode, owner,
/// mode or times of its own.
fn derived_entry(rel_path: Vec<u8>, kind: EntryKind, size: u64) -> WalkEntry {
    WalkEntry {
        rel_path,
        meta: walk::EntryMeta {
            kind,
            size,
            mode: 0,
            uid: 0,
            gid: 0,
            inode: 0,
            device: 0,
            nlink: 0,
            mtime: None,
            atime: None,
            ctime: None,
            btime: None,
        },
        link_target: None,
    }
}

/// How deep files inside files are followed (a message forwarded inside a message inside a
/// mailbox is depth 2); deeper ones are an error record, not a silent stop. bulk_extractor's
/// default recursion depth is 7 too; what all levels together expand to is bounded below.
const MAX_EMBED_DEPTH: usize = 7;

/// What one evidence file may expand to, all levels together (zip in zip, attachments of
/// attachments). Each container already bounds its own extraction (512 MiB), but a 42.zip-style
/// nest (sixteen copies a level) multiplies that bound at every level: such a 50 KB file ran
/// past 400 s before these limits (issue 11.6). bulk_extractor bounds depth and skips buffers
/// it has seen; these bound depth, count and bytes, and skip containers already expanded.
const MAX_DERIVED_ITEMS_PER_FILE: usize = 100_000;
const MAX_EXPANDED_BYTES_PER_FILE: u64 = 4 << 30;

/// What one evidence file may expand to (see [`MAX_DERIVED_ITEMS_PER_FILE`]); other values
/// only through [`ScanHooks::expansion_limits`], so a test can reach a limit with small input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpansionLimits {
    pub items: usize,
    pub bytes: u64,
}

impl Default for ExpansionLimits {
    fn default() -> Self {
        ExpansionLimits {
            items: MAX_DERIVED_ITEMS_PER_FILE,
            bytes: MAX_EXPANDED_BYTES_PER_FILE,
        }
    }
}

/// The expansion of one evidence file so far, shared by all its levels.
#[derive(Default)]
struct Expansion {
    items: usize,
    bytes: u64,
    /// Items already taken apart (by SHA-256): an identical copy is stored and analysed
    /// itself, but what it contains is not expanded a second time.
    expanded: HashSet<Sha256>,
}

/// Files carried inside an item (e-mail attachments) as child items through every stage:
/// digests (so hash sets match them), typing, image decoding and the vision models, the text
/// and comms parsers, thumbnails; and what they carry in turn, under their own path.
fn embedded_children(
    ctx: &SourceContext,
    parent_path: &[u8],
    embedded: Vec<crate::comms::Embedded>,
    depth: usize,
    expansion: &mut Expansion,
    out: &mut Vec<writer::ChildResult>,
    parent_errors: &mut Vec<ItemError>,
) {
    let total = embedded.len();
    // Two members of one container can carry one name (`a.txt` twice in a zip; `dir/a.txt`
    // and `dir\a.txt`; two attachments called image.jpg): each becomes its own child, the
    // later ones named `NAME~2`, `NAME~3` …, so no bytes are lost behind a colliding path.
    let mut used_names: HashSet<String> = HashSet::new();
    for (nth, mut e) in embedded.into_iter().enumerate() {
        let size = e.bytes.len() as u64;
        let limits = ctx.expansion_limits;
        if expansion.items >= limits.items || expansion.bytes + size > limits.bytes {
            parent_errors.push(ItemError::new(
                Stage::Embedded,
                format!(
                    "{} of {total} embedded files not examined, from {} on: the evidence file \
                     expands past its limit ({} derived items or {} MiB in all levels \
                     together; {} items and {} MiB so far)",
                    total - nth,
                    e.name,
                    limits.items,
                    limits.bytes >> 20,
                    expansion.items,
                    expansion.bytes >> 20
                ),
            ));
            break;
        }
        if ctx.stop.load(Ordering::Relaxed) {
            return;
        }
        expansion.items += 1;
        expansion.bytes += size;
        if !used_names.insert(e.name.clone()) {
            let original = std::mem::take(&mut e.name);
            let renamed = (2..)
                .map(|n| format!("{original}~{n}"))
                .find(|candidate| !used_names.contains(candidate))
                .expect("an unused name exists");
            used_names.insert(renamed.clone());
            e.derivation["name_in_parent"] = json!(original);
            e.derivation["renamed_because"] =
                json!("another item in the same container has this name");
            e.name = renamed;
        }
        if depth > MAX_EMBED_DEPTH {
            parent_errors.push(ItemError::new(
                Stage::Embedded,
                format!(
                    "{}: nested more than {MAX_EMBED_DEPTH} levels deep; not extracted",
                    e.name
                ),
            ));
            continue;
        }
        let rel_path = [parent_path, b"//", e.name.as_bytes()].concat();
        let mut hasher = digest::TripleHasher::default();
        hasher.update(&e.bytes);
        let digests = hasher.finish();
        let already_expanded = expansion.expanded.contains(&digests.sha256);
        let head = &e.bytes[..e.bytes.len().min(digest::HEAD_LEN)];
        let content_type = typing::detect(head);
        let mut errors = Vec::new();
        let decoded = if crate::media::decodable(&content_type.mime) {
            let within = (size <= crate::media::MAX_IMAGE_BYTES).then_some(e.bytes.as_slice());
            decode_image(within, &content_type.mime, size, &mut errors)
        } else {
            None
        };
        // A file's content (analyzers that want files take it), with no walk metadata.
        let entry = derived_entry(rel_path.clone(), EntryKind::File, size);
        let view = ItemView {
            source_label: ctx.label,
            entry: &entry,
            digests: Some(&digests),
            content_type: Some(&content_type),
            head,
            content: Some(&e.bytes),
            image: decoded.as_ref(),
            decoder: crate::media::decoder_name(&content_type.mime),
            companion: None,
            reopen: None,
            expand: !already_expanded,
        };
        // Whatever it is, a later identical copy is described, not opened again (a container
        // whose members were all refused would otherwise say so once per copy).
        expansion.expanded.insert(digests.sha256);
        let examined = examine(
            ctx,
            &view,
            Some(digests.sha256.to_hex()),
            Some(VideoBytes::Memory(&e.bytes)),
            depth + 1,
            expansion,
        );
        drop(decoded);
        errors.extend(examined.errors);
        let mut derivation = e.derivation;
        derivation["within"] = json!(String::from_utf8_lossy(parent_path));
        if examined.contents_not_expanded {
            derivation["contents_not_expanded"] = json!(
                "identical (SHA-256) to a container already expanded within this evidence file; \
                 its files are children of that one"
            );
        }
        out.push(writer::ChildResult {
            rel_path,
            kind: "embedded-file",
            size,
            mime: Some(content_type.mime.clone()),
            derivation,
            digests: Some(digests),
            observations: examined.observations,
            errors,
            records: examined.records,
        });
        out.extend(examined.descendants);
    }
}

/// Where a video's keyframes are read from.
enum VideoBytes<'a> {
    /// A file of the evidence, opened again under the source root.
    Evidence(&'a OwnedFd),
    /// A file held in memory (an attachment, a zip member).
    Memory(&'a [u8]),
}

/// What the steps after reading gave for one item: its own observations, errors and records,
/// and its descendants (the files inside it, its keyframes) in the order they are stored.
struct Examined {
    observations: Observed,
    errors: Vec<ItemError>,
    records: Recorded,
    descendants: Vec<writer::ChildResult>,
    /// A copy of a container already taken apart: its contents were not expanded again.
    contents_not_expanded: bool,
}

/// The steps every item with content of its own takes once it is read and typed, whatever
/// its origin (a walked file, a file inside another): every analyzer, its thumbnail, its
/// keyframes when it is a video, and the files inside it, each of which takes these steps
/// again one level deeper (`child_depth`). One path, so a new kind of child cannot forget a
/// step; keyframes take the analyzer and thumbnail steps in [`frame_child`].
fn examine(
    ctx: &SourceContext,
    view: &ItemView,
    thumb_key: Option<String>,
    video: Option<VideoBytes>,
    child_depth: usize,
    expansion: &mut Expansion,
) -> Examined {
    let analysed = run_analyzers(ctx.analyzers, view);
    let mut errors = analysed.errors;
    let mut observations = analysed.observations;
    if let (Some(img), Some(key)) = (view.image, &thumb_key)
        && let Err(e) = crate::media::thumbs::write(ctx.thumbs, key, img)
    {
        errors.push(ItemError::new(Stage::Thumbnail, e));
    }
    let mut descendants = Vec::new();
    let path = &view.entry.rel_path;
    if let (Some(source), Some(ct)) = (video, view.content_type)
        && crate::media::video::is_video_candidate(path, view.head, &ct.mime, ct.by_signature)
    {
        match source {
            VideoBytes::Evidence(root_fd) => match walk::open_regular_file(root_fd, path) {
                // Opened a second time: hashing streamed the file without keeping it (videos
                // are large), and ffmpeg reads only what it decodes.
                Ok(file) => video_keyframes(
                    ctx,
                    file,
                    path,
                    &mut observations,
                    &mut errors,
                    &mut descendants,
                ),
                Err(e) => errors.push(ItemError::new(Stage::Video, format!("open: {e}"))),
            },
            VideoBytes::Memory(bytes) => embedded_video(
                ctx,
                bytes,
                path,
                &mut observations,
                &mut errors,
                &mut descendants,
            ),
        }
    }
    let is_zip = view
        .content_type
        .is_some_and(|ct| ct.mime == "application/zip");
    let contents_not_expanded = !view.expand && (!analysed.embedded.is_empty() || is_zip);
    if view.expand && !analysed.embedded.is_empty() {
        embedded_children(
            ctx,
            path,
            analysed.embedded,
            child_depth,
            expansion,
            &mut descendants,
            &mut errors,
        );
    }
    Examined {
        observations,
        errors,
        records: analysed.records,
        descendants,
        contents_not_expanded,
    }
}

const VIDEO_STAGE: &str = "video";
const VIDEO_STAGE_VERSION: &str = "1";
const VIDEO_MARGIN: &str = "keyframes chosen by ffmpeg's scene score and a fixed interval: a shot shorter than the \
     interval with no clear cut can be missed, and at most --max-frames frames are taken per video; each frame is \
     then an ordinary image (its PDQ as exact as for a photo); timestamps are the container's presentation times";

/// Keyframes of a video held in memory (an e-mail attachment): ffmpeg reads an anonymous
/// in-memory file (memfd), since it needs a descriptor to seek in and nothing may be written
/// beside the evidence; the file is sealed against writes before ffmpeg gets it.
fn embedded_video(
    ctx: &SourceContext,
    bytes: &[u8],
    path: &[u8],
    observations: &mut Vec<(&'static str, &'static str, analyzer::ObservationDraft)>,
    errors: &mut Vec<ItemError>,
    children: &mut Vec<writer::ChildResult>,
) {
    use rustix::fs::{MemfdFlags, SealFlags};
    use std::io::{Seek, Write};
    let file = rustix::fs::memfd_create(
        "spoor-embedded-video",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .map(std::fs::File::from)
    .map_err(std::io::Error::from)
    .and_then(|mut f| {
        f.write_all(bytes)?;
        f.rewind()?;
        let seals = SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL;
        rustix::fs::fcntl_add_seals(&f, seals)?;
        Ok(f)
    });
    match file {
        Ok(file) => video_keyframes(ctx, file, path, observations, errors, children),
        Err(e) => errors.push(ItemError::new(
            Stage::Video,
            format!("in-memory copy for ffmpeg: {e}"),
        )),
    }
}

/// Runs the keyframe extractor over an open video: its `video.keyframes` observation and
/// problems go to the video, its frames become children named under `path`.
fn video_keyframes(
    ctx: &SourceContext,
    file: std::fs::File,
    path: &[u8],
    observations: &mut Vec<(&'static str, &'static str, analyzer::ObservationDraft)>,
    errors: &mut Vec<ItemError>,
    children: &mut Vec<writer::ChildResult>,
) {
    use crate::media::video;
    let extractor = video::ffmpeg_version().unwrap_or("ffmpeg");
    let opts = ctx.video;
    let mut on_frame = |frame: video::Frame| {
        children.push(frame_child(ctx, path, extractor, opts, frame));
    };
    match video::keyframes(
        file,
        opts,
        ctx.stop,
        crate::media::MAX_DECODE_ALLOC,
        &mut on_frame,
    ) {
        Ok((info, problems)) => {
            observations.push((
                VIDEO_STAGE,
                VIDEO_STAGE_VERSION,
                analyzer::ObservationDraft {
                    kind: "video.keyframes".into(),
                    value: serde_json::to_value(&info).unwrap_or_default(),
                    confidence: 1.0,
                    provenance: json!({"extractor": extractor, "interval_s": opts.interval, "scene_threshold": opts.scene_threshold, "min_gap_s": opts.min_gap, "max_frames": opts.max_frames}),
                },
            ));
            for p in problems {
                errors.push(ItemError::new(Stage::Video, p));
            }
        }
        Err(e) => errors.push(ItemError::new(Stage::Video, e)),
    }
}

/// One keyframe as a child item: named after its parent and time, analysed like a photo.
fn frame_child(
    ctx: &SourceContext,
    parent_path: &[u8],
    extractor: &str,
    opts: &crate::media::video::VideoOptions,
    frame: crate::media::video::Frame,
) -> writer::ChildResult {
    use sha2::Digest;
    let (width, height) = frame.image.dimensions();
    let pixels_sha256 = digest::to_hex(&sha2::Sha256::digest(frame.image.as_raw()));
    let name = match frame.timestamp {
        Some(t) => format!("//frame-{:04}@{t:.3}s", frame.index),
        None => format!("//frame-{:04}", frame.index),
    };
    let rel_path = [parent_path, name.as_bytes()].concat();
    let size = frame.image.as_raw().len() as u64;
    let img = image::DynamicImage::ImageRgb8(frame.image);
    let entry = derived_entry(rel_path.clone(), EntryKind::Unknown, size);
    let content_type = typing::ContentType {
        mime: "image/x-video-frame".into(),
        extension: None,
        by_signature: false,
    };
    let view = ItemView {
        source_label: ctx.label,
        entry: &entry,
        digests: None,
        content_type: Some(&content_type),
        head: &[],
        content: None,
        image: Some(&img),
        decoder: extractor,
        companion: None,
        reopen: None,
        expand: false,
    };
    let analysed = run_analyzers(ctx.analyzers, &view);
    let (observations, mut errors) = (analysed.observations, analysed.errors);
    if let Err(e) = crate::media::thumbs::write(ctx.thumbs, &pixels_sha256, &img) {
        errors.push(ItemError::new(Stage::Thumbnail, e));
    }
    // A frame is pixels only: no analyzer finds files inside it. Should one ever return some,
    // that is said, not dropped.
    if !analysed.embedded.is_empty() {
        errors.push(ItemError::new(
            Stage::Embedded,
            format!(
                "{} files found inside a video frame; frames are not containers, not extracted",
                analysed.embedded.len()
            ),
        ));
    }
    writer::ChildResult {
        rel_path,
        kind: "video-frame",
        size,
        mime: Some(content_type.mime.clone()),
        derivation: json!({
            "what": "video keyframe",
            "timestamp_s": frame.timestamp,
            "keyframe_index": frame.index,
            "width": width,
            "height": height,
            "pixels_sha256": pixels_sha256,
            "extractor": extractor,
            "selection": {"interval_s": opts.interval, "scene_threshold": opts.scene_threshold, "min_gap_s": opts.min_gap},
        }),
        digests: None,
        observations,
        errors,
        records: analysed.records,
    }
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
