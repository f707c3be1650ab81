//! `spoor bench`: a benchmark run on a workstation. It writes a deterministic corpus into a
//! temporary folder (files for the digests, JPEGs of three sizes, a WhatsApp / SMS backup /
//! mbox mix, a synthetic communication network), runs each stage of spoor on it through the
//! same library calls a scan makes, and reports per stage items/s, MB/s and peak memory, with
//! the machine it ran on. Two reports compare stage by stage ([`compare`]).
//!
//! The stages are real scans (the engine's walk, workers and writer, into a case of their
//! own), so that a figure is what an investigator would see; where a scan runs several stages
//! at once, the report says what it includes. Timed here: wall time; peak memory: the
//! process's resident high-water mark, reset before each stage where Linux allows it. The
//! seconds of a stage inside a scan are the engine's own (`ScanSummary::stage_seconds`).

pub mod corpus;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The report's format; a reader refuses another.
pub const SCHEMA: &str = "spoor-bench/1";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
    pub kernel: String,
    pub spoor: String,
    /// The ONNX Runtime library found (version and file), or `None` when none is installed.
    pub onnxruntime: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StageResult {
    /// A stable name, the key [`compare`] matches on.
    pub stage: String,
    /// What was counted (`files`, `pictures`, `records`, `contacts`, …).
    pub unit: String,
    pub items: u64,
    /// Input bytes, when the stage reads bytes.
    pub bytes: u64,
    pub seconds: f64,
    pub items_per_s: f64,
    pub mb_per_s: Option<f64>,
    /// Peak resident memory during the stage (MB), or since the start where it cannot be
    /// reset (`peak_rss_scope`).
    pub peak_rss_mb: f64,
    pub peak_rss_scope: String,
    /// What the stage includes.
    pub note: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub quick: bool,
    pub started_utc: String,
    pub machine: Machine,
    pub corpus: corpus::Sizes,
    pub stages: Vec<StageResult>,
    pub total_seconds: f64,
}

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The small corpus (finishes in under a minute on a 2-core machine).
    pub quick: bool,
    /// Models to time, one at a time; `None`: every installed model of the manifest.
    pub models: Option<Vec<String>>,
    /// Where to write the corpus and the cases (a temporary folder when `None`); removed after.
    pub work_dir: Option<PathBuf>,
}

/// Progress: (stages done, stages in all, the stage starting now).
pub type OnStage<'a> = &'a (dyn Fn(usize, usize, &str) + Sync);

/// The models of the manifest whose file is installed.
pub fn installed_models() -> Vec<String> {
    let dir = crate::vision::models_dir();
    if !crate::vision::library_path().is_file() {
        return Vec::new();
    }
    crate::vision::manifest::Manifest::load(&dir)
        .map(|m| {
            m.models
                .iter()
                .filter(|e| dir.join(&e.file).is_file())
                .map(|e| e.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub fn machine() -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let lib = crate::vision::library_path();
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib,
        os,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        spoor: env!("CARGO_PKG_VERSION").to_string(),
        onnxruntime: lib.is_file().then(|| {
            let version = crate::vision::LIBRARY_FILE.trim_start_matches("libonnxruntime.so.");
            format!("{version} ({})", lib.display())
        }),
    }
}

/// Resets the resident high-water mark (Linux: `clear_refs` 5); false where it cannot.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The resident high-water mark in MB (`VmHWM`), 0 where unknown.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Timer {
    clock: Instant,
    reset: bool,
}

impl Timer {
    fn start() -> Timer {
        let reset = reset_peak();
        Timer {
            clock: Instant::now(),
            reset,
        }
    }
    fn stop(self, stage: &str, unit: &str, items: u64, bytes: u64, note: &str) -> StageResult {
        let seconds = self.clock.elapsed().as_secs_f64().max(1e-9);
        result(stage, unit, items, bytes, seconds, self.reset, note)
    }
}

fn result(
    stage: &str,
    unit: &str,
    items: u64,
    bytes: u64,
    seconds: f64,
    reset: bool,
    note: &str,
) -> StageResult {
    StageResult {
        stage: stage.into(),
        unit: unit.into(),
        items,
        bytes,
        seconds,
        items_per_s: items as f64 / seconds,
        mb_per_s: (bytes > 0).then(|| bytes as f64 / 1e6 / seconds),
        peak_rss_mb: (peak_rss_mb() * 10.0).round() / 10.0,
        peak_rss_scope: if reset { "stage" } else { "process" }.into(),
        note: note.into(),
    }
}

/// A scan of `evidence` into a new case under `work`, as `spoor scan` runs it, with the wall
/// time of each of its stages as the engine measured them.
struct Scanned {
    case: PathBuf,
    stage_seconds: Vec<(String, f64)>,
}

fn scan(evidence: &Path, work: &Path, name: &str, models: &[String]) -> Result<Scanned, String> {
    let case = work.join(format!("case-{name}"));
    let request = crate::engine::ScanRequest {
        evidence: vec![evidence.to_path_buf()],
        case_dir: case.clone(),
        examiner: "spoor bench".into(),
        models: models.to_vec(),
        region: Some("NL".into()),
        similar_threshold: crate::vision::embedding::DEFAULT_THRESHOLD,
        ..Default::default()
    };
    let plan = crate::engine::ScanPlan::resolve(&request)?;
    let progress = crate::engine::Progress::default();
    let stop = AtomicBool::new(false);
    let summary = crate::engine::run_scan(&plan, &progress, &stop)?;
    if summary.errors > 0 {
        return Err(format!(
            "the {name} scan recorded {} error(s) on spoor's own corpus",
            summary.errors
        ));
    }
    Ok(Scanned {
        case,
        stage_seconds: summary.stage_seconds,
    })
}

impl Scanned {
    /// How long a whole-case pass ran.
    fn pass(&self, which: crate::engine::CasePass) -> Option<f64> {
        self.stage_seconds
            .iter()
            .find(|(n, _)| n == which.name())
            .map(|(_, s)| *s)
    }
    /// The walk and every item, to the first whole-case pass.
    fn items_phase(&self) -> f64 {
        self.stage_seconds
            .first()
            .map_or(0.0, |(_, s)| *s)
            .max(1e-9)
    }
    fn count(&self, sql: &str) -> Result<u64, String> {
        let conn = crate::store::open_store(&crate::store::existing(&self.case)?)?;
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| format!("case store: {e}"))
    }
}

/// The temporary folder of a run, removed however the run ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs every stage and returns the report.
pub fn run(options: &Options, on_stage: OnStage) -> Result<Report, String> {
    let started = Instant::now();
    let started_utc = crate::evidence::walk::Timestamp::now().to_rfc3339();
    let _cleanup;
    let work = match &options.work_dir {
        Some(d) => {
            // The stages scan into cases of their own: a folder that holds anything (an
            // earlier run's cases would be resumed, not rescanned) is refused.
            if std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()) {
                return Err(format!(
                    "--work-dir {}: not empty; give a new or empty folder",
                    d.display()
                ));
            }
            d.clone()
        }
        None => {
            let d = std::env::temp_dir().join(format!(
                "spoor-bench-{}-{}",
                std::process::id(),
                crate::evidence::walk::Timestamp::now().secs
            ));
            _cleanup = RemoveOnDrop(d.clone());
            d
        }
    };
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let models = options.models.clone().unwrap_or_else(installed_models);
    let sizes = if options.quick {
        corpus::Sizes::quick()
    } else {
        corpus::Sizes::full()
    };
    let total = 7 + models.len();
    let mut step = 0;
    let mut next = |name: &str| {
        on_stage(step, total, name);
        step += 1;
    };
    let mut stages = Vec::new();

    next("writing the corpus");
    let written = corpus::write(&work.join("corpus"), &sizes)?;

    next("walk + digests");
    reset_peak();
    let files = scan(&written.files, &work, "files", &[])?;
    stages.push(result(
        "walk+digests",
        "files",
        written.file_count,
        written.file_bytes,
        files.items_phase(),
        true,
        "a scan of the files (walk, MD5+SHA-1+SHA-256, typing, the store), to the end of its items",
    ));

    next("pictures: decode, EXIF, PDQ, thumbnail");
    reset_peak();
    let pictures = scan(&written.pictures, &work, "pictures", &[])?;
    let picture_items = pictures.items_phase();
    stages.push(result(
        "pictures",
        "pictures",
        written.picture_count,
        written.picture_bytes,
        picture_items,
        true,
        &format!(
            "a scan of {} JPEGs ({}): digests, decode, EXIF, PDQ, thumbnail, to the end of its items",
            written.picture_count,
            sizes.picture_sizes()
        ),
    ));
    if let Some(s) = pictures.pass(crate::engine::CasePass::NearDuplicates) {
        stages.push(result(
            "near-duplicates",
            "pictures",
            written.picture_count,
            0,
            s,
            true,
            "the near-duplicate pass over the pictures' PDQ hashes",
        ));
    }

    for m in &models {
        next(&format!("model {m}"));
        reset_peak();
        let with = scan(
            &written.pictures,
            &work,
            &format!("model-{m}"),
            std::slice::from_ref(m),
        )?;
        let seconds = with.items_phase();
        let alone = seconds - picture_items;
        stages.push(result(
            &format!("model:{m}"),
            "pictures",
            written.picture_count,
            written.picture_bytes,
            seconds,
            true,
            &format!(
                "the pictures' scan with {m} (one session per worker); the model's share, the difference of the two scans: {}",
                if alone > 0.0 {
                    format!(
                        "{:.1} s, {:.1} pictures/s",
                        alone,
                        written.picture_count as f64 / alone
                    )
                } else {
                    "within the noise".into()
                }
            ),
        ));
    }

    next("communications: parsers, entities, word index");
    reset_peak();
    let comms = scan(&written.comms, &work, "comms", &[])?;
    let records = comms.count("SELECT COUNT(*) FROM records")?;
    stages.push(result(
        "parsers",
        "records",
        records,
        written.comms_bytes,
        comms.items_phase(),
        true,
        "a scan of a WhatsApp export, an SMS backup and an mbox: parsing, and the entities of every body (the text stage runs in the workers), to the end of its items",
    ));
    if let Some(s) = comms.pass(crate::engine::CasePass::WordIndex) {
        stages.push(result(
            "word-index",
            "records",
            records,
            written.comms_bytes,
            s,
            true,
            "the word index pass (tantivy) over the bodies",
        ));
    }

    next("entities");
    let bodies = corpus::bodies(&sizes);
    let body_bytes: u64 = bodies.iter().map(|b| b.len() as u64).sum();
    let timer = Timer::start();
    let found = crate::text::entities::observations(
        bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (serde_json::json!({ "line": i }), b.as_str())),
        Some("NL"),
    );
    std::hint::black_box(&found);
    stages.push(timer.stop(
        "entities",
        "texts",
        bodies.len() as u64,
        body_bytes,
        &format!(
            "entity extraction alone on the messages' bodies: {} observations",
            found.len()
        ),
    ));

    next("graph: build and metrics");
    let contacts = corpus::contacts(sizes.people, sizes.contacts, 11);
    let timer = Timer::start();
    let network = crate::graph::build(&contacts, &[]);
    let nodes = network.nodes.len() as u64;
    stages.push(timer.stop(
        "graph-build",
        "contacts",
        contacts.len() as u64,
        0,
        &format!(
            "identities and ties from {} contacts of {} people",
            sizes.contacts, sizes.people
        ),
    ));
    let timer = Timer::start();
    let analysed = crate::graph::analyse(network);
    std::hint::black_box(&analysed);
    stages.push(timer.stop(
        "graph-metrics",
        "identities",
        nodes,
        0,
        "every metric of `spoor graph metrics` (degree, strength, betweenness, PageRank, eigenvector, cores, Leiden communities)",
    ));
    on_stage(total, total, "done");
    Ok(Report {
        schema: SCHEMA.into(),
        quick: options.quick,
        started_utc,
        machine: machine(),
        corpus: sizes,
        stages,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// A report read back, checked against the schema.
pub fn read(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if value["schema"] != SCHEMA {
        return Err(format!(
            "{}: not a {SCHEMA} report (schema {})",
            path.display(),
            value["schema"]
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("{}: {e}", path.display()))
}

/// One stage of two reports: B's figure over A's (above 1: B is faster, or uses more memory).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Ratio {
    pub stage: String,
    pub items_per_s: Option<f64>,
    pub mb_per_s: Option<f64>,
    pub peak_rss: Option<f64>,
    /// Set when the stage ran on different amounts (a quick run against a full one).
    pub note: Option<String>,
}

pub fn compare(a: &Report, b: &Report) -> Vec<Ratio> {
    let ratio = |x: f64, y: f64| (x > 0.0).then_some(y / x);
    let mut out: Vec<Ratio> = a
        .stages
        .iter()
        .map(|sa| match b.stages.iter().find(|sb| sb.stage == sa.stage) {
            Some(sb) => Ratio {
                stage: sa.stage.clone(),
                items_per_s: ratio(sa.items_per_s, sb.items_per_s),
                mb_per_s: sa.mb_per_s.zip(sb.mb_per_s).and_then(|(x, y)| ratio(x, y)),
                peak_rss: ratio(sa.peak_rss_mb, sb.peak_rss_mb),
                note: (sa.items != sb.items)
                    .then(|| format!("{} against {} {}", sa.items, sb.items, sa.unit)),
            },
            None => Ratio {
                stage: sa.stage.clone(),
                items_per_s: None,
                mb_per_s: None,
                peak_rss: None,
                note: Some("only in A".into()),
            },
        })
        .collect();
    for sb in &b.stages {
        if !a.stages.iter().any(|sa| sa.stage == sb.stage) {
            out.push(Ratio {
                stage: sb.stage.clone(),
                items_per_s: None,
                mb_per_s: None,
                peak_rss: None,
                note: Some("only in B".into()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rate: f64) -> Report {
        Report {
            schema: SCHEMA.into(),
            quick: true,
            started_utc: "2026-12-02T00:00:00Z".into(),
            machine: machine(),
            corpus: corpus::Sizes::quick(),
            stages: vec![
                result(
                    "walk+digests",
                    "files",
                    100,
                    1_000_000,
                    100.0 / rate,
                    true,
                    "",
                ),
                result("graph-build", "contacts", 10, 0, 1.0, true, ""),
            ],
            total_seconds: 1.0,
        }
    }

    #[test]
    fn ratios_are_b_over_a_and_name_what_is_missing() {
        let (a, mut b) = (report(50.0), report(100.0));
        b.stages.pop();
        let r = compare(&a, &b);
        assert!((r[0].items_per_s.unwrap() - 2.0).abs() < 1e-9);
        assert!((r[0].mb_per_s.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(r[1].note.as_deref(), Some("only in A"));
        assert_eq!(r[1].items_per_s, None);
    }
}
