//! The scan plan: what the examiner asked for, checked before any evidence is read (paths,
//! labels, hash sets, PDQ lists, rules, models), and its configuration digest.

use super::*;

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
    /// A watch list of entities (`--watchlist`).
    pub watchlist: Option<PathBuf>,
    /// Places of interest (`--places-of-interest`).
    pub places_of_interest: Option<PathBuf>,
    /// Object classes of interest (`--objects-of-interest`).
    pub objects_of_interest: Vec<String>,
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
    /// The lists of interest (entities, places, object classes), loaded.
    pub interest: crate::interest::InterestLists,
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
        let sources = resolve_sources(req)?;
        let owners = split_owners(&req.owners, &sources)?;
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
        let interest = load_interest(req)?;
        let (models, embedder) = load_models(&req.models, req.model_sessions)?;
        let similarity = similarity_plan(embedder, req)?;
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
                owners: owners.0,
                owners_by_source: owners.1,
                cdr_mappings: req.cdr_mappings.clone(),
            },
            keywords,
            interest,
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
            "interest": {
                "watchlist": self.interest.watchlist.as_ref().map(|w| &w.sha256),
                "places": self.interest.places.as_ref().map(|p| &p.sha256),
                "objects": self.interest.objects.as_ref().map(|o| &o.digest),
            },
            "video": {"interval": self.video.interval, "scene_threshold": self.video.scene_threshold, "min_gap": self.video.min_gap, "max_frames": self.video.max_frames},
        });
        audit::digest_hex(cfg.to_string().as_bytes())
    }
}

/// `--owner` values: `LABEL=IDENTIFIER` for one source (each seized phone has its own
/// owner), a bare identifier for every source. A label that names no source is refused.
type Owners = (Vec<String>, Vec<(String, String)>);

fn split_owners(given: &[String], sources: &[SourcePlan]) -> Result<Owners, String> {
    let mut everywhere = Vec::new();
    let mut per_source = Vec::new();
    for owner in given {
        match owner.split_once('=') {
            Some((label, id)) => {
                let (label, id) = (label.trim(), id.trim());
                if !sources.iter().any(|s| s.label == label) {
                    let labels: Vec<&str> = sources.iter().map(|s| s.label.as_str()).collect();
                    return Err(format!(
                        "--owner {owner:?}: no source is labelled {label:?} (the sources are {})",
                        labels.join(", ")
                    ));
                }
                if id.is_empty() {
                    return Err(format!("--owner {owner:?}: no identifier after '='"));
                }
                per_source.push((label.to_string(), id.to_string()));
            }
            None => everywhere.push(owner.trim().to_string()),
        }
    }
    Ok((everywhere, per_source))
}

/// Each evidence directory, canonical, with its label (given, or the directory's name);
/// two sources with one label are refused.
fn resolve_sources(req: &ScanRequest) -> Result<Vec<SourcePlan>, String> {
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
    Ok(sources)
}

/// The similarity pass over the first model with an embedding, with the reference gallery
/// of `--places` embedded by that model; `--places` without such a model is refused.
fn similarity_plan(
    embedder: Option<Arc<crate::vision::classifier::Classifier>>,
    req: &ScanRequest,
) -> Result<Option<crate::vision::embedding::Similarity>, String> {
    Ok(match (embedder, &req.places_gallery) {
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
    })
}

/// The lists of interest, each checked before the case is touched. Object classes are
/// checked against the detectors of `--models` in the manifest.
fn load_interest(req: &ScanRequest) -> Result<crate::interest::InterestLists, String> {
    use crate::interest::*;
    let region = req.region.as_deref();
    let watchlist = req
        .watchlist
        .as_deref()
        .map(|p| Watchlist::load(p, region))
        .transpose()?;
    let places = req
        .places_of_interest
        .as_deref()
        .map(PlacesOfInterest::load)
        .transpose()?;
    let objects = if req.objects_of_interest.is_empty() {
        None
    } else {
        let mut known = Vec::new();
        if !req.models.is_empty() {
            let manifest = crate::vision::manifest::Manifest::load(&crate::vision::models_dir())?;
            for m in &manifest.models {
                let asked = req
                    .models
                    .iter()
                    .any(|n| n == &m.name || (n == "default" && m.default));
                if asked && m.task == "objects" {
                    known.extend(m.labels.iter().cloned());
                }
            }
        }
        Some(ObjectsOfInterest::new(&req.objects_of_interest, &known)?)
    };
    Ok(InterestLists {
        watchlist,
        places,
        objects,
    })
}

/// The analyzers of the models asked for, each loaded once (its sessions shared by the workers).
/// Also the first model with an embedding output, for the similarity pass and `--places`.
#[allow(clippy::type_complexity)]
pub(super) fn load_models(
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

pub(super) fn absolute(p: &Path) -> PathBuf {
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
