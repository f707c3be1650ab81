//! Command-line definitions and dispatch. Resolves arguments into validated plans, calls the
//! library, prints results (sanitised) and maps outcomes to exit statuses. Nothing else.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::{self, Progress, ScanPlan, ScanRequest};
use crate::evidence::sanitize;
use crate::exit;
use crate::hashsets::HashSetSpec;
use crate::leads::{self, RuleSet};
use crate::store::{self, audit};
use crate::{demo, report, review};

mod graph;
use graph::{GraphAction, graph_command};

#[derive(Parser)]
#[command(
    name = "spoor",
    version,
    about = "Evidence intake, observations and ranked leads that a named human must confirm"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The arguments of `spoor scan`.
#[derive(clap::Args)]
struct ScanArgs {
    /// Evidence directories (read-only; nothing is written into them).
    #[arg(required = true)]
    evidence: Vec<PathBuf>,
    /// Case directory (created if missing).
    #[arg(long)]
    case: PathBuf,
    /// The person responsible for this scan.
    #[arg(long)]
    examiner: String,
    /// Label of each source, in order (default: the directory name).
    #[arg(long)]
    label: Vec<String>,
    /// Hash set: FILE, FILE:good, FILE:bad or FILE:bad:CATEGORY (default known-bad).
    #[arg(long, value_parser = HashSetSpec::parse)]
    hashset: Vec<HashSetSpec>,
    /// PDQ list of known images (64-hex hash per line, optional category), given like --hashset.
    #[arg(long, value_parser = HashSetSpec::parse)]
    pdqlist: Vec<HashSetSpec>,
    /// Rules file replacing the built-in set.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Video keyframes: one at least every SECONDS, besides scene changes.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    frame_interval: f64,
    /// Video keyframes: ffmpeg scene score (0-1) above which a frame starts a new shot.
    #[arg(long, default_value_t = 0.3)]
    scene_threshold: f64,
    /// Video keyframes kept per video at most (the rest is reported as not examined).
    #[arg(long, default_value_t = 500)]
    max_frames: usize,
    /// Models to run on every picture and keyframe, comma-separated names from
    /// models/manifest.toml (`spoor models list`), e.g. open_nsfw; `default` for the default
    /// set (open_nsfw, nsfwjs, nanodet, blazeface). Needs scripts/fetch-models.sh.
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Cluster the GPS positions of the case into places and name each after the nearest
    /// GeoNames town, offline (needs scripts/fetch-models.sh).
    #[arg(long)]
    geocode: bool,
    /// Positions closer than METRES join one place (with --geocode).
    #[arg(long, value_name = "METRES", default_value_t = crate::places::DEFAULT_RADIUS_M)]
    place_radius: f64,
    /// A reference gallery of known places: one subfolder per place ("suspect's home",
    /// "hotel X room 12") holding its photos; pictures close to one get a "possibly taken
    /// at PLACE" observation. Needs a model with an embedding in --models (nsfwjs).
    #[arg(long, value_name = "DIR")]
    places: Option<PathBuf>,
    /// Default country for phone numbers written without a country code (ISO 3166,
    /// e.g. NL): they become E.164 identifiers. Without it such numbers stay as written.
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
    /// An identifier of a device owner (a phone number, e-mail address or chat name), once
    /// per identifier: messages from it are outgoing, to it incoming. `LABEL=IDENTIFIER`
    /// gives the owner of one source (each seized phone has its own); a bare identifier
    /// applies to every source.
    #[arg(long, value_name = "[LABEL=]IDENTIFIER")]
    owner: Vec<String>,
    /// A call-detail-record CSV layout (TOML: columns and values; see docs/cdr-mapping.md);
    /// bandicoot's layout is built in.
    #[arg(long, value_name = "FILE")]
    cdr_mapping: Vec<PathBuf>,
    /// A watch list: one term or phrase per line, optionally TAB and a category; hits in
    /// message bodies and OCR text become observations (and leads).
    #[arg(long, value_name = "FILE")]
    keywords: Option<PathBuf>,
    /// A watch list of entities: one IBAN, wallet address, phone number or e-mail address per
    /// line, optionally TAB and a note; matched after normalisation in messages, documents
    /// and OCR text.
    #[arg(long, value_name = "FILE")]
    watchlist: Option<PathBuf>,
    /// Places of interest: CSV with the header name,latitude,longitude,radius_m; pictures
    /// whose GPS position is within a place's radius get an observation (and a lead).
    #[arg(long, value_name = "FILE")]
    places_of_interest: Option<PathBuf>,
    /// Object classes of interest, comma-separated, of a detector in --models (e.g.
    /// knife,scissors for nanodet's COCO classes).
    #[arg(long, value_name = "CLASSES", value_delimiter = ',')]
    objects_of_interest: Vec<String>,
    /// ONNX Runtime sessions per model (default: one per worker thread); each handles one
    /// picture at a time.
    #[arg(long, value_name = "N")]
    model_sessions: Option<usize>,
    /// Intra-op threads of each session (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    model_threads: usize,
    /// Least embedding cosine similarity for "similar picture" and gallery observations.
    #[arg(long, default_value_t = crate::vision::embedding::DEFAULT_THRESHOLD)]
    similar_threshold: f32,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
// The scan variant carries every flag of a scan; parsed once per process, so its size is
// of no consequence.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Walk evidence sources, hash and type every file, match hash sets, and write leads.
    Scan(ScanArgs),
    /// Search the case's word index (message bodies, OCR text): words, "phrases", AND, OR, -not.
    Search {
        /// Case directory.
        case: PathBuf,
        /// The query.
        query: String,
        /// At most N hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ranked leads, or one lead explained.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Leads {
        #[command(subcommand)]
        action: Option<LeadsAction>,
        /// Case directory.
        #[arg(required = true)]
        case: Option<PathBuf>,
        /// Show at most N leads.
        #[arg(long)]
        top: Option<usize>,
        /// Only leads about this kind of subject: item, identity, picture-cluster, place or
        /// identity-pair.
        #[arg(long)]
        subject: Option<String>,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The network of a case: identities across devices, contacts, metrics.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Graph {
        #[command(subcommand)]
        action: Option<GraphAction>,
        /// Case directory.
        #[arg(required = true)]
        case: Option<PathBuf>,
        /// How many top brokers to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// The whole network (nodes, edges, ledger, metrics) as JSON.
        #[arg(long)]
        json: bool,
        /// Also list the ties whose contacts start or stop within --window of this date
        /// (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, as the records give time).
        #[arg(long, value_name = "DATE")]
        around: Option<String>,
        /// With --around: how near the date (90s, 30m, 12h, 7d).
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "7d",
            requires = "around"
        )]
        window: String,
    },
    /// Record a human decision on a lead (`review CASE LEAD DECISION`), or the same decision
    /// on every active lead a query selects (`review CASE --rule R --state proposed reject`).
    /// DECISION is confirm, reject or needs-info.
    Review {
        case: PathBuf,
        /// LEAD DECISION, or DECISION with --rule/--state/--subject.
        #[arg(num_args = 1..=2, required = true, value_name = "[LEAD] DECISION")]
        what: Vec<String>,
        /// Reviewer's name.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Bulk: the leads this rule fired on.
        #[arg(long)]
        rule: Option<String>,
        /// Bulk: the leads in this state (proposed, confirmed, rejected, needs-info).
        #[arg(long)]
        state: Option<String>,
        /// Bulk: the leads about this kind of subject (item, identity, picture-cluster,
        /// place, identity-pair).
        #[arg(long)]
        subject: Option<String>,
        /// Bulk: the leads gathered under this group lead (a picture cluster's copies, the
        /// pictures at a place).
        #[arg(long)]
        part_of: Option<String>,
    },
    /// Review in the browser: serves the case's lead queue, leads, items and audit log on a
    /// local address, printing the URL and the access token to log in with.
    Serve {
        case: PathBuf,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8686")]
        bind: std::net::SocketAddr,
        /// Listen on an address that is not loopback (the UI shows evidence).
        #[arg(long)]
        allow_remote: bool,
    },
    /// Time each stage of spoor on a generated corpus (digests, pictures, each installed
    /// model, parsers, entities, word index, graph), with the machine it ran on; or compare
    /// two such reports stage by stage.
    Bench {
        /// The small corpus: under a minute.
        #[arg(long)]
        quick: bool,
        /// Write the report (JSON, schema spoor-bench/1) here; with --compare, the ratios.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Compare two reports: B's figure over A's, stage by stage.
        #[arg(long, num_args = 2, value_names = ["A", "B"])]
        compare: Option<Vec<PathBuf>>,
        /// Models to time (default: every installed one); `--models none` for none.
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
        /// Where to write the corpus and cases (default: a temporary folder, removed after).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Show the unblurred thumbnail of a lead's picture: prints its path, and the audit log
    /// records who looked, when and why (reports show thumbnails blurred).
    Reveal {
        case: PathBuf,
        lead: String,
        /// Who is looking.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Case report: findings (confirmed leads) and, apart, leads awaiting review; or the
    /// findings as KML or CASE/UCO, or the processing record.
    Report {
        case: PathBuf,
        /// Who writes the report, for the audit log (default: SPOOR_EXAMINER, else the login name).
        #[arg(long)]
        by: Option<String>,
        #[arg(long, value_enum, default_value = "html")]
        format: ReportFormat,
        /// Output file (default: CASE/exports/report.html, report.json, findings.kml,
        /// findings.case.jsonld or processing-record.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the people of the network (identifiers, names) and the entity values leads
        /// rest on by HMAC pseudonyms keyed by this file (at least 16 bytes), for reports
        /// shared beyond the case team; thumbnails are left out.
        #[arg(long, value_name = "KEYFILE")]
        pseudonymize: Option<PathBuf>,
    },
    /// Machine-readable export, sorted and stable (docs/schema.md).
    Export {
        case: PathBuf,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only these kinds: items, observations, records, errors, leads, reviews (default: all).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(report::EXPORT_KINDS))]
        kind: Vec<String>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-read the evidence and report files changed, missing or added since the scan.
    Verify { case: PathBuf },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Write the built-in synthetic demo evidence.
    DemoData { dir: PathBuf },
    /// The models spoor knows (models/manifest.toml).
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Each model: task, head, file (present or not), licence, source, error margin.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write the ONNX Runtime library, the model files and the manifest into one archive,
    /// for a machine with no network.
    Pack { file: PathBuf },
    /// Measure a classifier on a labelled set (FILE<TAB>LABEL per line, paths under --images):
    /// confusion matrix, precision and recall at its threshold; written as its model card.
    Eval {
        model: String,
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        labels: PathBuf,
    },
    /// Install an archive made by `models pack`, checking every file's digest.
    Install {
        file: PathBuf,
        /// Where to install (default: the models folder spoor uses, see `models list`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LeadsAction {
    /// A lead with its rules, observations and error margins.
    Explain {
        case: PathBuf,
        lead: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the hash chain; exit 3 naming the first bad entry when broken.
    Verify { case: PathBuf },
    /// Print the log.
    Log { case: PathBuf },
}

#[derive(Subcommand)]
enum RulesAction {
    /// Print the rules in force (the built-in set, or FILE after validating it).
    Show {
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Per rule: its leads and what reviewers decided (precision = confirmed / decided), the
    /// error margin as investigators meet it.
    Stats {
        case: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DecisionArg {
    Confirm,
    Reject,
    NeedsInfo,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Json,
    /// Findings with GPS positions, for maps.
    Kml,
    /// Findings as CASE/UCO JSON-LD.
    CaseUco,
    /// What was done with the evidence, for a DPIA (JSON).
    ProcessingRecord,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
}

/// Parses the process arguments, runs the command, returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on a usage error; 2 is spoor's "finished, with item errors", so a
            // usage error is 1 like every other fatal error (--help and --version stay 0).
            let _ = e.print();
            return if e.use_stderr() { exit::FATAL } else { 0 };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("spoor: error: {}", sanitize(&message));
            exit::FATAL
        }
    }
}

fn open(case_dir: &std::path::Path) -> Result<rusqlite::Connection, String> {
    store::open_store(&store::existing(case_dir)?)
}

fn run(cli: Cli) -> Result<i32, String> {
    match cli.command {
        Command::Scan(args) => scan_command(args),
        Command::Leads {
            action: Some(LeadsAction::Explain { case, lead, json }),
            ..
        } => explain_command(&case, &lead, json),
        Command::Leads {
            case,
            top,
            subject,
            json,
            ..
        } => leads_command(case, top, subject, json),
        Command::Graph {
            action,
            case,
            top,
            json,
            around,
            window,
        } => graph_command(action, case, top, json, around.map(|date| (date, window))),
        Command::Review {
            case,
            what,
            by,
            reason,
            rule,
            state,
            subject,
            part_of,
        } => {
            let selection = review::Selection {
                part_of,
                rule,
                state: state
                    .map(|s| {
                        crate::model::LeadState::parse(&s).ok_or_else(|| {
                            format!("--state {s:?}: proposed, confirmed, rejected or needs-info")
                        })
                    })
                    .transpose()?,
                subject,
            };
            review_command(&case, &what, selection, &by, &reason)
        }
        Command::Bench {
            quick,
            json,
            compare,
            models,
            work_dir,
        } => bench_command(quick, json, compare, models, work_dir),
        Command::Serve {
            case,
            bind,
            allow_remote,
        } => {
            crate::web::serve(case.clone(), bind, allow_remote, |url, token| {
                // Written, not printed: a closed standard output must not stop the server.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "spoor serve: {} for the case {}", url, case.display());
                let _ = writeln!(out, "access token: {token}");
                let _ = writeln!(
                    out,
                    "(log in with the token and your name; Ctrl-C stops the server)"
                );
                let _ = out.flush();
            })?;
            Ok(exit::OK)
        }
        Command::Reveal {
            case,
            lead,
            by,
            reason,
        } => {
            let conn = open(&case)?;
            let path = crate::review::reveal(&conn, &case, &lead, &by, &reason)?;
            println!("{}", path.display());
            Ok(exit::OK)
        }
        Command::Report {
            case,
            by,
            format,
            out,
            pseudonymize,
        } => report_command(&case, by, format, out, pseudonymize),
        Command::Export {
            case,
            format: ExportFormat::Jsonl,
            kind,
            out,
        } => export_command(&case, &kind, out),
        Command::Verify { case } => {
            let conn = open(&case)?;
            let results = crate::engine::verify_and_record(&conn, &whoami())?;
            let differs = print_verification(&results);
            Ok(if differs { exit::MISMATCH } else { exit::OK })
        }
        Command::Audit {
            action: AuditAction::Verify { case },
        } => audit_verify(&case),
        Command::Audit {
            action: AuditAction::Log { case },
        } => {
            let conn = open(&case)?;
            for e in audit::entries(&conn).map_err(|e| e.to_string())? {
                println!("{}", serde_json::to_string(&e).map_err(|e| e.to_string())?);
            }
            Ok(exit::OK)
        }
        Command::Search {
            case,
            query,
            limit,
            json,
        } => search_command(&case, &query, limit, json),
        Command::Rules {
            action: RulesAction::Stats { case, json },
        } => rules_stats_command(&case, json),
        Command::Rules {
            action: RulesAction::Show { rules },
        } => {
            let set = match rules {
                Some(path) => RuleSet::from_file(&path)?,
                None => RuleSet::default_set(),
            };
            println!(
                "# origin: {}\n# sha256: {}\n{}",
                set.origin, set.digest, set.source_text
            );
            Ok(exit::OK)
        }
        Command::Models {
            action: ModelsAction::List { json },
        } => {
            print_model_listing(json)?;
            Ok(exit::OK)
        }
        Command::Models {
            action: ModelsAction::Pack { file },
        } => models_pack(&file),
        Command::Models {
            action: ModelsAction::Install { file, dir },
        } => {
            let dir = dir.unwrap_or_else(crate::vision::models_dir);
            let files = crate::vision::pack::install(&file, &dir)?;
            println!(
                "installed {files} files into {}, every digest checked",
                dir.display()
            );
            Ok(exit::OK)
        }
        Command::Models {
            action:
                ModelsAction::Eval {
                    model,
                    images,
                    labels,
                },
        } => models_eval(&model, &images, &labels),
        Command::DemoData { dir } => demo_data(&dir),
    }
}

/// `spoor review`: records a named reviewer's decision on a lead (with its audit entry).
fn review_command(
    case: &std::path::Path,
    what: &[String],
    selection: review::Selection,
    by: &str,
    reason: &str,
) -> Result<i32, String> {
    let mut conn = open(case)?;
    let bulk = selection.rule.is_some()
        || selection.state.is_some()
        || selection.subject.is_some()
        || selection.part_of.is_some();
    match what {
        [lead, decision] if !bulk => {
            let decision = review::Decision::parse(decision)?;
            let row = review::decide(&mut conn, lead, decision, by, reason)?;
            println!(
                "{}: {} by {} (audit entry {})",
                row.lead,
                decision.state(),
                sanitize(&row.reviewer),
                row.audit_seq
            );
        }
        [decision] if bulk => {
            let decision = review::Decision::parse(decision)?;
            let done = review::decide_bulk(&mut conn, &selection, decision, by, reason)?;
            println!(
                "{} of {} selected leads now {} by {}",
                done.decided,
                done.selected,
                decision.state(),
                sanitize(by.trim())
            );
            for (lead, why) in &done.skipped {
                println!("  skipped {lead}: {}", sanitize(why));
            }
        }
        [_] => {
            return Err(
                "review needs LEAD DECISION, or DECISION with --rule, --state or --subject".into(),
            );
        }
        _ => {
            return Err("a review of one lead takes no --rule, --state or --subject".into());
        }
    }
    Ok(exit::OK)
}

/// `spoor audit verify`: checks the audit chain, entry by entry.
fn audit_verify(case: &std::path::Path) -> Result<i32, String> {
    let conn = open(case)?;
    match audit::verify(&conn).map_err(|e| e.to_string())? {
        audit::Verdict::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            Ok(exit::OK)
        }
        audit::Verdict::Broken { seq, reason } => {
            println!("audit log BROKEN at entry {seq}: {reason}");
            Ok(exit::MISMATCH)
        }
    }
}

/// `spoor report`: writes the report (with its audit entry) and says where.
fn report_command(
    case: &std::path::Path,
    by: Option<String>,
    format: ReportFormat,
    out: Option<std::path::PathBuf>,
    pseudonymize: Option<std::path::PathBuf>,
) -> Result<i32, String> {
    let conn = open(case)?;
    let format = match format {
        ReportFormat::Html => report::Format::Html,
        ReportFormat::Json => report::Format::Json,
        ReportFormat::Kml => report::Format::Kml,
        ReportFormat::CaseUco => report::Format::CaseUco,
        ReportFormat::ProcessingRecord => report::Format::ProcessingRecord,
    };
    let actor = by.unwrap_or_else(whoami);
    let path = report::write_report(&conn, case, format, out, &actor, pseudonymize.as_deref())?;
    println!("{}", path.display());
    Ok(exit::OK)
}

/// `spoor leads explain`: one lead, the rules and observations it rests on, and its reviews.
fn explain_command(case: &std::path::Path, lead: &str, json: bool) -> Result<i32, String> {
    let conn = open(case)?;
    let id = leads::resolve_id(&conn, lead)?;
    let all = leads::list(&conn).map_err(|e| e.to_string())?;
    let lead = all
        .into_iter()
        .find(|l| l.id == id)
        .ok_or("lead vanished")?;
    let reviews: Vec<_> = review::list(&conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|r| r.lead == id)
        .collect();
    if json {
        println!("{}", serde_json::json!({"lead": lead, "reviews": reviews}));
    } else {
        print_explain(&lead, &reviews);
    }
    Ok(exit::OK)
}

/// `spoor rules stats`: per rule, its leads and their decisions.
fn rules_stats_command(case: &std::path::Path, json: bool) -> Result<i32, String> {
    let conn = open(case)?;
    let stats = review::rule_stats(&conn)?;
    if json {
        for s in &stats {
            println!("{}", serde_json::to_string(s).map_err(|e| e.to_string())?);
        }
        return Ok(exit::OK);
    }
    println!(
        "{:<38} {:>5} {:>8} {:>10} {:>9} {:>8}  precision (confirmed / decided)",
        "rule", "leads", "proposed", "needs-info", "confirmed", "rejected"
    );
    for s in &stats {
        println!(
            "{:<38} {:>5} {:>8} {:>10} {:>9} {:>8}  {}",
            s.rule,
            s.leads,
            s.proposed,
            s.needs_info,
            s.confirmed,
            s.rejected,
            s.precision.map_or("no decisions yet".into(), |p| format!(
                "{:.2} ({} of {})",
                p,
                s.confirmed,
                s.confirmed + s.rejected
            ))
        );
    }
    Ok(exit::OK)
}

/// `spoor leads`: the active leads by rank.
fn leads_command(
    case: Option<std::path::PathBuf>,
    top: Option<usize>,
    subject: Option<String>,
    json: bool,
) -> Result<i32, String> {
    if let Some(s) = &subject
        && !crate::model::SUBJECT_KINDS.contains(&s.as_str())
    {
        return Err(format!(
            "--subject {s:?}: one of {}",
            crate::model::SUBJECT_KINDS.join(", ")
        ));
    }
    let conn = open(&case.ok_or("leads needs a case directory")?)?;
    let all: Vec<_> = leads::list(&conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|l| l.active)
        .filter(|l| subject.as_ref().is_none_or(|s| &l.subject == s))
        .collect();
    // `--top N`: the N first leads that stand on their own, each group with its members
    // (a member listed without its group, under `--subject item`, counts itself).
    let mut kept = std::collections::HashSet::new();
    let list: Vec<_> = all
        .into_iter()
        .filter(|l| {
            let parent_listed = l.part_of.as_ref().is_some_and(|p| kept.contains(p));
            if parent_listed {
                return true;
            }
            if kept.len() >= top.unwrap_or(usize::MAX) {
                return false;
            }
            kept.insert(l.id.clone());
            true
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        for l in &list {
            writeln!(
                out,
                "{}",
                serde_json::to_string(l).map_err(|e| e.to_string())?
            )
            .map_err(|e| e.to_string())?;
        }
    } else {
        print_leads(&mut out, &list).map_err(|e| e.to_string())?;
    }
    Ok(exit::OK)
}

/// `spoor export`: the case as sorted JSON lines, to a file or standard output.
fn export_command(
    case: &std::path::Path,
    kind: &[String],
    out: Option<std::path::PathBuf>,
) -> Result<i32, String> {
    let conn = open(case)?;
    match &out {
        Some(path) => {
            let file =
                std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            report::export_jsonl(&conn, kind, &mut w)?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            report::export_jsonl(&conn, kind, &mut w)?;
        }
    }
    Ok(exit::OK)
}

/// `spoor search`: hits of the word index, best first.
fn search_command(
    case: &std::path::Path,
    query: &str,
    limit: usize,
    json: bool,
) -> Result<i32, String> {
    let hits = crate::text::index::search(case, query, limit)?;
    for h in &hits {
        if json {
            println!("{}", serde_json::to_string(h).map_err(|e| e.to_string())?);
        } else {
            println!(
                "{:>6.2}  {}:{}  {}  {}\n        {}",
                h.score, h.source, h.path, h.kind, h.locator, h.snippet
            );
        }
    }
    if !json {
        println!("{} hit(s)", hits.len());
    }
    Ok(exit::OK)
}

/// `spoor models pack`: the installed models as one file for an offline machine.
fn models_pack(file: &std::path::Path) -> Result<i32, String> {
    let dir = crate::vision::models_dir();
    let (files, bytes) = crate::vision::pack::pack(&dir, file)?;
    println!(
        "{}: {files} files, {:.1} MB (from {})",
        file.display(),
        bytes as f64 / 1e6,
        dir.display()
    );
    Ok(exit::OK)
}

/// `spoor models eval`: a model's card measured on labelled pictures.
fn models_eval(
    model: &str,
    images: &std::path::Path,
    labels: &std::path::Path,
) -> Result<i32, String> {
    let dir = crate::vision::models_dir();
    let (card, path) = crate::vision::eval::evaluate(&dir, model, images, labels)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&card).map_err(|e| e.to_string())?
    );
    println!("model card: {}", path.display());
    Ok(exit::OK)
}

/// `spoor demo-data`: writes the built-in demo evidence and says where.
fn demo_data(dir: &std::path::Path) -> Result<i32, String> {
    let set = demo::write(dir)?;
    for d in &set.devices {
        println!("evidence: {}", d.display());
    }
    println!("hash set (known-bad): {}", set.known_bad.display());
    println!("hash set (known-good): {}", set.known_good.display());
    println!("PDQ list (known-bad): {}", set.known_bad_pdq.display());
    println!("watch list: {}", set.watchlist.display());
    println!("places of interest: {}", set.places_of_interest.display());
    println!("ground truth: {}", set.ground_truth.display());
    println!(
        "owners: {}",
        demo::OWNERS
            .iter()
            .map(|o| format!("--owner {o}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "objects of interest: --objects-of-interest {}",
        demo::OBJECTS_OF_INTEREST
    );
    Ok(exit::OK)
}

/// `spoor models list`: each model of the manifest with what it outputs, its file and its
/// measured error margin (text, or JSON lines with `--json`).
fn print_model_listing(json: bool) -> Result<(), String> {
    let dir = crate::vision::models_dir();
    for listed in crate::vision::manifest::listing(&dir)? {
        let crate::vision::manifest::Listing {
            entry: m,
            present,
            card,
            head_implemented: runs,
            outputs,
        } = listed;
        let m = &m;
        if json {
            let mut v = serde_json::to_value(m).map_err(|e| e.to_string())?;
            v["present"] = present.into();
            v["head_implemented"] = runs.into();
            v["outputs"] = outputs.clone().into();
            v["card"] = card.clone().unwrap_or_default();
            println!("{v}");
            continue;
        }
        let source = m
            .source
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        println!(
            "{:<12} {:<8} head {:<19} {}{}\n             outputs {}\n             file {} ({})\n             source {}\n             licence {}\n             error margin: {}",
            m.name,
            m.task,
            m.head,
            if runs { "runs" } else { "not implemented yet" },
            if m.default {
                ", in --models default"
            } else {
                ", only when named in --models"
            },
            outputs,
            m.file,
            if present {
                "present"
            } else {
                "missing: scripts/fetch-models.sh"
            },
            source.join(", "),
            m.license,
            m.error_margin
        );
        if let Some(c) = card {
            // Whatever figures the card of this kind of model holds.
            let figures: Vec<String> = [
                "map50",
                "precision",
                "recall",
                "false_positive_rate",
                "threshold",
                "character_error_rate",
                "word_precision",
                "word_recall",
            ]
            .iter()
            .filter(|k| c.get(**k).is_some())
            .map(|k| format!("{k} {}", c[*k]))
            .collect();
            println!(
                "             measured: {} images ({}): {}",
                c["images"],
                c["labels_file"],
                figures.join(", ")
            );
        }
    }
    Ok(())
}

/// What `spoor verify` found, per source; whether any source differs.
fn print_verification(results: &[crate::evidence::verify::SourceVerification]) -> bool {
    let mut differs = false;
    for s in results {
        differs |= s.differs();
        println!("source {} ({})", sanitize(&s.label), sanitize(&s.root));
        println!(
            "  root digest recorded {}  now {}",
            s.recorded_root_digest.as_deref().unwrap_or("-"),
            s.current_root_digest
        );
        for (what, list) in [
            ("changed", &s.changed),
            ("missing", &s.missing),
            ("added", &s.added),
            ("unreadable", &s.unreadable),
        ] {
            for p in list {
                println!("  {what}: {}", sanitize(p));
            }
        }
        if !s.differs() {
            println!("  unchanged");
        }
    }
    differs
}

/// `spoor scan`: the arguments checked and resolved into a request, then the scan.
fn scan_command(args: ScanArgs) -> Result<i32, String> {
    let ScanArgs {
        evidence,
        case,
        examiner,
        label,
        hashset,
        pdqlist,
        rules,
        frame_interval,
        scene_threshold,
        max_frames,
        models,
        geocode,
        place_radius,
        places,
        similar_threshold,
        model_sessions,
        model_threads,
        region,
        owner,
        cdr_mapping,
        keywords,
        watchlist,
        places_of_interest,
        objects_of_interest,
        quiet,
    } = args;
    let cdr_mappings = cdr_mapping
        .iter()
        .map(|p| crate::comms::cdr::Mapping::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(r) = &region {
        crate::comms::identifiers::parse_region(r)?;
    }
    if model_sessions == Some(0) || model_threads == 0 {
        return Err("--model-sessions and --model-threads must be at least 1".into());
    }
    crate::vision::session::set_intra_threads(model_threads);
    if !(-1.0..=1.0).contains(&similar_threshold) {
        return Err("--similar-threshold must be a cosine similarity, -1 to 1".into());
    }
    if !(place_radius > 0.0 && place_radius.is_finite()) {
        return Err("--place-radius must be a positive number of metres".into());
    }
    if !(frame_interval > 0.0 && frame_interval.is_finite()) {
        return Err("--frame-interval must be a positive number of seconds".into());
    }
    if !(0.0..=1.0).contains(&scene_threshold) {
        return Err("--scene-threshold must be between 0 and 1".into());
    }
    if max_frames == 0 {
        return Err("--max-frames must be at least 1".into());
    }
    let request = ScanRequest {
        evidence,
        case_dir: case,
        examiner,
        labels: label,
        hashsets: hashset,
        pdqlists: pdqlist,
        rules_file: rules,
        video: crate::media::video::VideoOptions {
            interval: frame_interval,
            scene_threshold,
            max_frames,
            ..Default::default()
        },
        models,
        geocode_radius_m: geocode.then_some(place_radius),
        places_gallery: places,
        model_sessions,
        region: region.map(|r| r.trim().to_ascii_uppercase()),
        owners: owner,
        cdr_mappings,
        keywords,
        watchlist,
        places_of_interest,
        objects_of_interest,
        similar_threshold,
    };
    scan(&request, quiet)
}

/// Who acts, when not named with --by: SPOOR_EXAMINER, else the login name, else the account
/// number (never "unknown": CI and cron jobs have no USER, and the audit log must still say).
fn whoami() -> String {
    ["SPOOR_EXAMINER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| format!("uid {} (no name given)", rustix::process::getuid().as_raw()))
}

fn scan(request: &ScanRequest, quiet: bool) -> Result<i32, String> {
    let plan = ScanPlan::resolve(request)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // First Ctrl-C: finish the items in hand, commit, exit 130. Second: leave at once
        // (the journal and the next run's resume cover what was in flight).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(exit::INTERRUPTED);
            }
        });
    }
    let progress = Arc::new(Progress::default());
    let drawing =
        (!quiet && std::io::stderr().is_terminal()).then(|| spawn_progress_bar(progress.clone()));
    let result = engine::run_scan(&plan, &progress, &stop);
    if let Some((done, handle)) = drawing {
        done.store(true, Ordering::Relaxed);
        let _ = handle.join();
    }
    let summary = result?;
    if !quiet {
        let mut out = std::io::stdout().lock();
        for s in &summary.sources {
            let _ = writeln!(
                out,
                "{:<16} {:>7} files {:>6} dirs {:>5} other {:>12} bytes {:>6} derived {:>5} errors {:>5} known-bad {:>6} known-good  root {}{}",
                sanitize(&s.label),
                s.files,
                s.dirs,
                s.other,
                s.bytes,
                s.derived,
                s.errors,
                s.known_bad,
                s.known_good,
                s.root_digest,
                if s.complete { "" } else { "  (incomplete)" }
            );
        }
        let _ = writeln!(
            out,
            "walked entries processed {}, already stored {}; derived items (members, attachments, keyframes) {}; errors {}",
            summary.items_processed,
            summary.items_already_stored,
            summary.sources.iter().map(|s| s.derived).sum::<i64>(),
            summary.errors
        );
        let _ = writeln!(
            out,
            "leads: {} active ({} awaiting review, {} confirmed, {} rejected, {} need info)",
            summary.leads.active,
            summary.leads.proposed,
            summary.leads.confirmed,
            summary.leads.rejected,
            summary.leads.needs_info
        );
        for p in &summary.hashset_problems {
            let _ = writeln!(out, "hash set line skipped: {}", sanitize(p));
        }
        for s in &summary.crash_suspects {
            let _ = writeln!(out, "was in flight at an earlier crash: {s}");
        }
    }
    if summary.interrupted {
        eprintln!("spoor: interrupted; run the same command again to resume");
        return Ok(exit::INTERRUPTED);
    }
    if summary.errors > 0 {
        eprintln!(
            "spoor: {} item error(s) recorded; see `spoor export CASE --kind errors`",
            summary.errors
        );
        return Ok(exit::ITEM_ERRORS);
    }
    Ok(exit::OK)
}

fn bench_command(
    quick: bool,
    json: Option<PathBuf>,
    compare: Option<Vec<PathBuf>>,
    models: Option<Vec<String>>,
    work_dir: Option<PathBuf>,
) -> Result<i32, String> {
    let mut out = std::io::stdout().lock();
    if let Some(pair) = compare {
        let (a, b) = (crate::bench::read(&pair[0])?, crate::bench::read(&pair[1])?);
        let ratios = crate::bench::compare(&a, &b);
        let _ = writeln!(
            out,
            "A: {} ({} cores), spoor {}, {}",
            a.machine.cpu, a.machine.cores, a.machine.spoor, a.started_utc
        );
        let _ = writeln!(
            out,
            "B: {} ({} cores), spoor {}, {}",
            b.machine.cpu, b.machine.cores, b.machine.spoor, b.started_utc
        );
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>10} {:>10}  note",
            "stage", "items/s B/A", "MB/s B/A", "RSS B/A"
        );
        let shown = |r: Option<f64>| r.map_or("-".to_string(), |x| format!("{x:.2}"));
        for r in &ratios {
            let _ = writeln!(
                out,
                "{:<24} {:>12} {:>10} {:>10}  {}",
                r.stage,
                shown(r.items_per_s),
                shown(r.mb_per_s),
                shown(r.peak_rss),
                r.note.as_deref().unwrap_or("")
            );
        }
        if let Some(path) = json {
            let text = serde_json::to_string_pretty(
                &serde_json::json!({"a": pair[0], "b": pair[1], "ratios": ratios}),
            )
            .map_err(|e| e.to_string())?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(exit::OK);
    }
    let models = models.map(|m| {
        m.into_iter()
            .filter(|n| n != "none" && !n.is_empty())
            .collect()
    });
    let options = crate::bench::Options {
        quick,
        models,
        work_dir,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(1);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let on_stage = |done: usize, total: usize, name: &str| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(name.to_string());
        } else {
            eprintln!("[{done}/{total}] {name}");
        }
    };
    let report = crate::bench::run(&options, &on_stage)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let m = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} ({} cores), {} GiB, {} (Linux {}), spoor {}, ONNX Runtime {}",
        m.cpu,
        m.cores,
        m.memory_gib,
        m.os,
        m.kernel,
        m.spoor,
        m.onnxruntime.as_deref().unwrap_or("not installed")
    );
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>11} {:>9} {:>9} {:>9}",
        "stage", "items", "items/s", "MB/s", "seconds", "peak MB"
    );
    for s in &report.stages {
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>11.1} {:>9} {:>9.2} {:>9.0}  {}",
            s.stage,
            format!("{} {}", s.items, s.unit),
            s.items_per_s,
            s.mb_per_s.map_or("-".into(), |v| format!("{v:.1}")),
            s.seconds,
            s.peak_rss_mb,
            s.note
        );
    }
    let _ = writeln!(
        out,
        "total {:.1} s{}",
        report.total_seconds,
        if report.quick { " (--quick)" } else { "" }
    );
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(exit::OK)
}

fn spawn_progress_bar(progress: Arc<Progress>) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = std::thread::spawn(move || {
        // While the walk runs the total is unknown (the walker is held at most a bounded queue
        // ahead of the hashing), so no bar and no ETA until it is known.
        let style = |template: &str| {
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        };
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(style(
            "{spinner} [{elapsed_precise}] {bytes} hashed, {bytes_per_sec}; {msg}",
        ));
        let mut total_known = false;
        while !flag.load(Ordering::Relaxed) {
            let walked = progress.walk_finished.load(Ordering::Relaxed);
            if walked && !total_known {
                total_known = true;
                bar.set_length(progress.bytes_walked.load(Ordering::Relaxed));
                bar.set_style(style(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
                ));
            }
            // The total grows with every source walked (they are walked one after the other),
            // so it is read again at every tick; it was once fixed at the first source's bytes
            // and the bar read 2.60 MiB / 539.84 KiB.
            let done = progress.bytes_done.load(Ordering::Relaxed);
            if total_known {
                bar.set_length(progress.bytes_walked.load(Ordering::Relaxed).max(done));
            }
            bar.set_position(done);
            if let Some(pass) =
                engine::CasePass::from_progress(progress.case_pass.load(Ordering::Relaxed))
            {
                bar.set_message(format!(
                    "all items stored; case pass {} of {}: {}",
                    progress.case_passes_done.load(Ordering::Relaxed) + 1,
                    engine::CasePass::ALL.len(),
                    pass.name()
                ));
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            bar.set_message(format!(
                "{} of {}{} items, {} errors",
                progress.items_done.load(Ordering::Relaxed)
                    + progress.items_skipped.load(Ordering::Relaxed),
                progress.entries_walked.load(Ordering::Relaxed),
                if walked { "" } else { "+ (still walking)" },
                progress.errors.load(Ordering::Relaxed)
            ));
            bar.tick();
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    });
    (done, handle)
}

fn print_leads(out: &mut dyn Write, list: &[leads::LeadRow]) -> std::io::Result<()> {
    if list.is_empty() {
        return writeln!(out, "no leads");
    }
    writeln!(
        out,
        "{:>4}  {:<13} {:>7}  {:<10} {:<14} {:<40} rules",
        "rank", "lead", "score", "state", "source", "path"
    )?;
    let listed: std::collections::HashSet<&str> = list.iter().map(|l| l.id.as_str()).collect();
    for l in list {
        // A member under its group (listed just above): indented, the group's rank.
        let member = l.part_of.as_deref().is_some_and(|p| listed.contains(p));
        writeln!(
            out,
            "{:>4}  {:<13} {:>7.1}  {:<10} {:<14} {:<40} {}",
            if member {
                String::new()
            } else {
                l.rank.to_string()
            },
            l.id,
            l.score,
            l.state,
            sanitize(&l.source),
            if member {
                format!("  └ {}", sanitize(&l.path))
            } else {
                sanitize(&l.path)
            },
            l.rules.join(",")
        )?;
    }
    Ok(())
}

fn print_explain(lead: &leads::LeadRow, reviews: &[review::ReviewRow]) {
    let h = &lead.hits;
    let num = |v: &serde_json::Value| crate::leads::words::number(v.as_f64().unwrap_or(0.0));
    let text = |v: &serde_json::Value| sanitize(&crate::leads::words::plain(v));
    println!(
        "lead {}  rank {}  score {:.1}  state {}{}",
        lead.id,
        lead.rank,
        lead.score,
        lead.state,
        if lead.active {
            ""
        } else {
            "  (no rule fires any more)"
        }
    );
    let subject = &h["subject"];
    if lead.subject == "item" {
        println!(
            "about: item {} on {}  sha256 {}",
            sanitize(&lead.path),
            sanitize(&lead.source),
            subject["sha256"].as_str().unwrap_or("(not read)")
        );
    } else if lead.subject == "identity" {
        println!(
            "about: {} {} ({})",
            lead.subject,
            text(&subject["label"]),
            text(&subject["identity"])
        );
    } else {
        println!(
            "about: {} {}",
            lead.subject.replace('-', " "),
            text(&subject["label"])
        );
        if let Some(ids) = subject["identities"].as_array() {
            println!("  identities: {}", text(&serde_json::json!(ids)));
        }
        for m in subject["members"].as_array().into_iter().flatten() {
            let place = if m["latitude"].is_null() {
                String::new()
            } else {
                format!(
                    "  GPS {}, {} ({} m from the place)",
                    num(&m["latitude"]),
                    num(&m["longitude"]),
                    num(&m["distance_m"])
                )
            };
            println!(
                "  member: {}:{}  sha256 {}{}{}",
                text(&m["source"]),
                text(&m["path"]),
                m["sha256"].as_str().unwrap_or("(not read)"),
                m["lead"]
                    .as_str()
                    .map_or(String::new(), |l| format!("  lead {l}")),
                place
            );
        }
        if !h["score"]["own"].is_null() {
            println!(
                "  the group's own score {:.1}, its strongest member's {:.1}: it ranks by the larger",
                h["score"]["own"].as_f64().unwrap_or(0.0),
                h["score"]["best_member"].as_f64().unwrap_or(0.0)
            );
        }
    }
    if let Some(group) = h["part_of"].as_str() {
        println!("gathered under the group lead {group} (spoor leads explain CASE {group})");
    }
    println!(
        "rules: version {}, digest {}",
        text(&h["rules_version"]),
        lead.rules_digest
    );
    println!(
        "score: {:.1} = the sum over {} independent group(s) of the largest weight × confidence × precision in each (docs/scoring.md)",
        lead.score, h["score"]["independent_groups"]
    );
    for hit in h["hits"].as_array().into_iter().flatten() {
        let precision = &hit["precision"];
        println!(
            "\nrule {} (version {}) — {}{}",
            hit["rule"].as_str().unwrap_or("?"),
            text(&h["rules_version"]),
            sanitize(hit["title"].as_str().unwrap_or("")),
            if hit["four_eyes"] == true {
                "  [four eyes]"
            } else {
                ""
            }
        );
        println!("  {}", sanitize(hit["explanation"].as_str().unwrap_or("")));
        println!(
            "  contributes {} × confidence {} × precision {} = {:.1}{}",
            num(&hit["weight"]),
            num(&hit["confidence"]),
            if precision.is_null() {
                "1 (a combination: its parts carry theirs)".into()
            } else {
                num(&precision["factor"])
            },
            hit["contribution"].as_f64().unwrap_or(0.0),
            if hit["counted"] == true {
                String::new()
            } else {
                format!("; not added: a repeat in the group {}", text(&hit["group"]))
            }
        );
        let show = |o: &serde_json::Value, role: &str| {
            println!(
                "  {role} {} by {} v{}: {}",
                o["kind"].as_str().unwrap_or("?"),
                text(&o["analyzer"]),
                text(&o["analyzer_version"]),
                text(&o["words"])
            );
            println!(
                "    confidence {}; {}",
                num(&o["confidence"]),
                text(&o["precision"]["words"])
            );
            if let Some(p) = o["provenance"].as_object().filter(|p| !p.is_empty()) {
                let parts: Vec<String> = p
                    .iter()
                    .filter(|(_, v)| !v.is_object() && !v.is_array() && !v.is_null())
                    .map(|(k, v)| {
                        format!("{} {}", k.replace('_', " "), crate::leads::words::plain(v))
                    })
                    .collect();
                if !parts.is_empty() {
                    println!("    from: {}", sanitize(&parts.join("; ")));
                }
            }
            println!(
                "    error margin: {}",
                sanitize(o["error_margin"].as_str().unwrap_or("not recorded"))
            );
        };
        for o in hit["observations"].as_array().into_iter().flatten() {
            show(o, "observation");
        }
        for o in hit["with"].as_array().into_iter().flatten() {
            show(o, "with");
        }
        for p in hit["parts"].as_array().into_iter().flatten() {
            println!(
                "  rests on: rule {} on {} (lead {}, via {}, strength {})",
                text(&p["rule"]),
                text(&p["subject"]),
                text(&p["lead"]),
                text(&p["via"]),
                num(&p["strength"])
            );
        }
    }
    let counter: Vec<_> = h["counter_indications"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if !counter.is_empty() {
        println!("\ncounter-indications:");
        for c in counter {
            println!("  - {}", text(c));
        }
    }
    if h["four_eyes"] == true {
        let confirmers = review::current_confirmers(reviews);
        println!(
            "\nfour eyes: a finding only once two distinct reviewers confirm it ({} of 2 so far{})",
            confirmers.len().min(2),
            if confirmers.is_empty() {
                String::new()
            } else {
                format!(": {}", sanitize(&confirmers.join(", ")))
            }
        );
    }
    if reviews.is_empty() {
        println!("\nno decision yet: this lead is a proposal, not a finding");
    }
    for r in reviews {
        println!(
            "\n{} by {} at {}: {}",
            r.decision,
            sanitize(&r.reviewer),
            r.at,
            sanitize(&r.reason)
        );
    }
}
