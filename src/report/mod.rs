//! Reports for people (HTML) and machines (JSON, JSONL export).
//!
//! Findings are confirmed leads only. Leads still awaiting a decision appear in their own,
//! clearly marked section and never as findings; rejected leads are listed apart. Exports
//! are sorted so that two scans of the same evidence export byte-identically (docs/schema.md).

use std::io::Write;

use maud::{DOCTYPE, Markup, html};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::leads::{self, LeadRow};
use crate::model::LeadState;
use crate::review;
use crate::store::export::ExportError;
use crate::store::{self, audit};

pub const EXPORT_KINDS: &[&str] = &[
    "items",
    "observations",
    "records",
    "errors",
    "leads",
    "reviews",
];

/// Writes the chosen kinds (all when `kinds` is empty) as JSON lines, sorted.
pub fn export_jsonl(
    conn: &Connection,
    kinds: &[String],
    out: &mut dyn Write,
) -> Result<u64, String> {
    let io = |e: std::io::Error| format!("writing export: {e}");
    match export_all(conn, kinds, out) {
        // A reader that stopped early (`| head`) is not an error of the export.
        Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(ExportError::Io(e)) => Err(io(e)),
        Err(ExportError::Other(e)) => Err(e),
        Ok(n) => Ok(n),
    }
}

fn export_all(
    conn: &Connection,
    kinds: &[String],
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let db = |e: rusqlite::Error| ExportError::Other(format!("case store: {e}"));
    let wanted = |k: &str| kinds.is_empty() || kinds.iter().any(|x| x == k);
    let mut lines = 0u64;
    let mut emit = |v: Value| -> Result<(), ExportError> {
        serde_json::to_writer(&mut *out, &v).map_err(|e| ExportError::Io(e.into()))?;
        out.write_all(b"\n").map_err(ExportError::Io)?;
        lines += 1;
        Ok(())
    };
    if wanted("items") {
        store::export::items(conn, &mut emit)?;
    }
    if wanted("observations") {
        store::export::observations(conn, &mut emit)?;
    }
    if wanted("records") {
        store::export::records(conn, &mut emit)?;
    }
    if wanted("errors") {
        store::export::errors(conn, &mut emit)?;
    }
    if wanted("leads") {
        for lead in leads::list(conn).map_err(db)? {
            let mut v =
                serde_json::to_value(&lead).map_err(|e| ExportError::Other(e.to_string()))?;
            v["record"] = json!("lead");
            emit(v)?;
        }
    }
    if wanted("reviews") {
        for r in review::list(conn).map_err(db)? {
            let mut v = serde_json::to_value(&r).map_err(|e| ExportError::Other(e.to_string()))?;
            v["record"] = json!("review");
            emit(v)?;
        }
    }
    out.flush().map_err(ExportError::Io)?;
    Ok(lines)
}

/// The report formats `spoor report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
}

impl Format {
    /// The file name used under CASE/exports/ when no output is named.
    pub fn default_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Json => "report.json",
        }
    }
}

/// The action `spoor report` (and later the web UI) performs: renders the report, writes it to
/// `out` (default CASE/exports/report.html or .json) and records in the audit log who wrote
/// which file with what digest. Returns the file written.
pub fn write_report(
    conn: &Connection,
    case_dir: &std::path::Path,
    format: Format,
    out: Option<std::path::PathBuf>,
    actor: &str,
) -> Result<std::path::PathBuf, String> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err("a report needs the name of who writes it (--by)".into());
    }
    let data = report_data(conn)?;
    let body = match format {
        Format::Html => render_html(&data, Some(&case_dir.join("thumbs"))),
        Format::Json => serde_json::to_string_pretty(&data).map_err(|e| e.to_string())? + "\n",
    };
    let path = out.unwrap_or_else(|| case_dir.join("exports").join(format.default_name()));
    std::fs::write(&path, &body).map_err(|e| format!("{}: {e}", path.display()))?;
    audit::append(
        conn,
        actor,
        "report",
        &json!({
            "format": format.default_name(), "path": path.to_string_lossy(),
            "sha256": audit::digest_hex(body.as_bytes()),
            "findings": data["findings"].as_array().map(Vec::len),
            "awaiting_review": data["awaiting_review"].as_array().map(Vec::len),
        }),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

pub fn report_data(conn: &Connection) -> Result<Value, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let sources = store::report::sources(conn).map_err(db)?;
    let all = leads::list(conn).map_err(db)?;
    let reviews = review::list(conn).map_err(db)?;
    let with_reviews = |l: &LeadRow| {
        let mut v = serde_json::to_value(l).unwrap_or_default();
        v["reviews"] = json!(
            reviews
                .iter()
                .filter(|r| r.lead == l.id)
                .collect::<Vec<_>>()
        );
        v
    };
    let findings: Vec<Value> = all
        .iter()
        .filter(|l| l.state == LeadState::Confirmed)
        .map(with_reviews)
        .collect();
    let awaiting: Vec<Value> = all
        .iter()
        .filter(|l| l.active && l.state.awaiting_review())
        .map(with_reviews)
        .collect();
    let rejected: Vec<Value> = all
        .iter()
        .filter(|l| l.state == LeadState::Rejected)
        .map(with_reviews)
        .collect();
    let errors = store::report::errors(conn).map_err(db)?;
    let hashsets = store::report::hashsets(conn).map_err(db)?;
    let audit_verdict = match audit::verify(conn).map_err(db)? {
        audit::Verdict::Intact { entries, head } => {
            json!({"intact": true, "entries": entries, "head": head})
        }
        audit::Verdict::Broken { seq, reason } => {
            json!({"intact": false, "first_bad_entry": seq, "reason": reason})
        }
    };
    let places = store::report::observations_of_kind(conn, "location.place").map_err(db)?;
    Ok(json!({
        "tool": {"name": "spoor", "version": crate::TOOL_VERSION},
        "place_attribution": (places > 0).then_some(crate::places::ATTRIBUTION),
        "rules_digest": crate::store::meta_get(conn, "rules_digest").map_err(db)?,
        "audit": audit_verdict,
        "sources": sources,
        "hashsets": hashsets,
        "findings": findings,
        "awaiting_review": awaiting,
        "rejected": rejected,
        "errors": errors,
    }))
}

/// A JSON value as report text: strings as they are, `—` for none, anything else as JSON.
/// Escaping is maud's: every value spliced into the page is escaped unless marked raw, and
/// nothing in this module marks a value raw.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Largest thumbnail embedded in the HTML report (they are ~5-20 KB; a bigger file is not one
/// spoor wrote).
const MAX_EMBEDDED_THUMBNAIL: u64 = 256 << 10;

/// The lead's thumbnail, blurred to a coarse mosaic, as a data URI, so that the report is one
/// self-contained file that shows where a picture is without showing the picture (DESIGN:
/// sensitive thumbnails stay blurred until a reviewer reveals them, and reveals are logged:
/// `spoor reveal`).
fn thumbnail_uri(thumbs_dir: Option<&std::path::Path>, lead: &Value) -> Option<String> {
    use base64::Engine;
    let key = lead["thumbnail_key"].as_str()?;
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let path = crate::media::thumbs::path_for(thumbs_dir?, key);
    if std::fs::metadata(&path).ok()?.len() > MAX_EMBEDDED_THUMBNAIL {
        return None;
    }
    let bytes = crate::media::thumbs::blurred(&std::fs::read(path).ok()?).ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
     td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left;font-size:90%}\
     .awaiting{border:3px dashed #c60;padding:0 1em;background:#fff8f0}.findings{border:3px solid #070;padding:0 1em}\
     .hit{margin-bottom:.5em}code{word-break:break-all}.thumb{max-width:128px;max-height:128px;margin-top:4px}";

/// A table of leads: why each was proposed (rule, explanation, observations with their error
/// margins), its blurred thumbnail, and every decision on it.
fn lead_rows(leads: &[Value], thumbs_dir: Option<&std::path::Path>) -> Markup {
    html! {
        table {
            tr {
                th { "lead" } th { "rank" } th { "score" } th { "source" } th { "path" }
                th { "why (rule → explanation; observations; error margin)" } th { "decisions" }
            }
            @for l in leads {
                tr {
                    td { code { (text(&l["id"])) } }
                    td { (text(&l["rank"])) }
                    td { (format!("{:.1}", l["score"].as_f64().unwrap_or(0.0))) }
                    td { (text(&l["source"])) }
                    td {
                        code { (text(&l["path"])) }
                        @if let Some(uri) = thumbnail_uri(thumbs_dir, l) {
                            br; img.thumb alt="thumbnail, blurred" src=(uri); br;
                            small { "blurred; " code { "spoor reveal CASE " (text(&l["id"])) " --by NAME --reason TEXT" } " shows it and logs who looked" }
                        }
                    }
                    td {
                        @for hit in l["hits"]["hits"].as_array().into_iter().flatten() {
                            div.hit {
                                b { (text(&hit["rule"])) } " (" (text(&hit["title"])) "): " (text(&hit["explanation"]))
                                ul {
                                    @for o in hit["observations"].as_array().into_iter().flatten() {
                                        li {
                                            code { (text(&o["kind"])) } " by " (text(&o["analyzer"])) " v" (text(&o["analyzer_version"]))
                                            " — confidence " (text(&o["confidence"])) " — " code { (text(&o["value"])) }
                                            br; small { "error margin: " (text(&o["error_margin"])) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    td {
                        @for r in l["reviews"].as_array().into_iter().flatten() {
                            div { (text(&r["decision"])) " by " b { (text(&r["reviewer"])) } " at " (text(&r["at"])) ": " (text(&r["reason"])) }
                        }
                    }
                }
            }
        }
    }
}

/// A table with one row per object of `rows`, the columns named by `keys`.
fn table_of(headings: &[&str], keys: &[&str], rows: &Value) -> Markup {
    html! {
        table {
            tr { @for h in headings { th { (h) } } }
            @for row in rows.as_array().into_iter().flatten() {
                tr { @for k in keys { td { (text(&row[*k])) } } }
            }
        }
    }
}

/// The report as one HTML file; `thumbs_dir` (CASE/thumbs) lets it embed the pictures of the
/// leads on images, blurred.
pub fn render_html(data: &Value, thumbs_dir: Option<&std::path::Path>) -> String {
    let list = |key: &str| data[key].as_array().cloned().unwrap_or_default();
    let (findings, awaiting, rejected, errors) = (
        list("findings"),
        list("awaiting_review"),
        list("rejected"),
        list("errors"),
    );
    let audit = &data["audit"];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "spoor case report" } style { (STYLE) } }
            body {
                h1 { "spoor case report" }
                p {
                    "spoor " (text(&data["tool"]["version"])) " — rules digest " code { (text(&data["rules_digest"])) } " — audit log: "
                    @if audit["intact"].as_bool() == Some(true) {
                        "intact, " (text(&audit["entries"])) " entries, head " code { (text(&audit["head"])) }
                    } @else {
                        b { "BROKEN" } " at entry " (text(&audit["first_bad_entry"])) ": " (text(&audit["reason"]))
                    }
                }
                h2 { "Evidence sources" }
                (table_of(
                    &["label", "root", "examiner", "first scan", "finished", "files", "dirs", "other", "bytes", "errors", "root digest (SHA-256)"],
                    &["label", "root", "examiner", "first_scan", "finished", "files", "dirs", "other", "bytes", "errors", "root_digest"],
                    &data["sources"],
                ))
                div.findings {
                    h2 { "Findings (" (findings.len()) "): leads confirmed by a named reviewer" }
                    @if findings.is_empty() {
                        p { "No lead has been confirmed. Nothing in this case is a finding yet." }
                    } @else {
                        (lead_rows(&findings, thumbs_dir))
                    }
                }
                div.awaiting {
                    h2 { "AWAITING REVIEW (" (awaiting.len()) ") — proposals, not findings" }
                    p {
                        "These leads were produced by rules from observations. None has been confirmed by a person; \
                         none may be acted on until a named reviewer confirms it (" code { "spoor review" } ")."
                    }
                    (lead_rows(&awaiting, thumbs_dir))
                }
                h2 { "Rejected leads (" (rejected.len()) ")" }
                (lead_rows(&rejected, thumbs_dir))
                h2 { "Hash sets used" }
                (table_of(
                    &["name", "format", "status", "category", "entries", "malformed lines", "file SHA-256"],
                    &["name", "format", "status", "category", "entries", "problems", "sha256"],
                    &data["hashsets"],
                ))
                h2 { "Items that could not be fully processed (" (errors.len()) ")" }
                (table_of(&["source", "path", "stage", "reason"], &["source", "path", "stage", "reason"], &data["errors"]))
                @if let Some(a) = data["place_attribution"].as_str() {
                    p { small { (a) } }
                }
            }
        }
    };
    page.into_string()
}
