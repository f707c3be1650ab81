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

pub mod kml;
pub mod pseudonym;
pub mod record;
pub mod uco;

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
    /// The findings with GPS positions.
    Kml,
    /// The findings as CASE/UCO JSON-LD.
    CaseUco,
    /// The processing record (DPIA) as JSON.
    ProcessingRecord,
}

impl Format {
    /// The file name used under CASE/exports/ when no output is named.
    pub fn default_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Json => "report.json",
            Format::Kml => "findings.kml",
            Format::CaseUco => "findings.case.jsonld",
            Format::ProcessingRecord => "processing-record.json",
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
    pseudonymize: Option<&std::path::Path>,
) -> Result<std::path::PathBuf, String> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err("a report needs the name of who writes it (--by)".into());
    }
    let pseudonymizer = pseudonymize
        .map(|key| pseudonymizer(conn, key))
        .transpose()?;
    let mut data = report_data(conn)?;
    if let Some(p) = &pseudonymizer {
        p.value(&mut data);
        data["pseudonymized"] = json!({"key_sha256": p.key_sha256,
            "what": "identifiers, labels and names of the network's identities and the entity values leads rest on are HMAC-SHA256 pseudonyms"});
    }
    let pretty = |v: &Value| {
        serde_json::to_string_pretty(v)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    };
    let body = match format {
        // Thumbnails of people are left out of a pseudonymized report: a face is not a pseudonym.
        Format::Html => render_html(
            &data,
            if pseudonymizer.is_some() {
                None
            } else {
                Some(case_dir.join("thumbs"))
            }
            .as_deref(),
        ),
        Format::Json => pretty(&data)?,
        Format::Kml => kml::render(&data),
        Format::CaseUco => pretty(&uco::render(&data))?,
        Format::ProcessingRecord => pretty(&data["processing_record"])?,
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
            "pseudonymized_with_key_sha256": pseudonymizer.as_ref().map(|p| &p.key_sha256),
        }),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

/// What to hide in a pseudonymized report: every identifier, label and name of the
/// network, and the entity values (IBANs, numbers, addresses) of watch-list matches.
fn pseudonymizer(
    conn: &Connection,
    key: &std::path::Path,
) -> Result<pseudonym::Pseudonymizer, String> {
    let mut p = pseudonym::Pseudonymizer::from_file(key)?;
    let mut hide: Vec<String> = Vec::new();
    if let Ok(analysed) = crate::graph::of_case(conn) {
        for n in &analysed.network.nodes {
            hide.push(n.key.clone());
            hide.push(n.label.clone());
            hide.extend(n.identifiers.iter().cloned());
            hide.extend(n.names.iter().cloned());
        }
    }
    hide.extend(store::report::entity_values(conn).map_err(|e| format!("case store: {e}"))?);
    // Device-scoped names (`whatsapp-name:Bram@laptop-bram`) hide as the name too.
    let scoped: Vec<String> = hide
        .iter()
        .filter_map(|h| {
            h.split_once(':')
                .and_then(|(_, v)| v.rsplit_once('@'))
                .map(|(n, _)| n.to_string())
        })
        .filter(|n| !n.contains('.'))
        .collect();
    hide.extend(scoped);
    hide.retain(|h| !h.starts_with("device-owner:") && !h.starts_with("group:"));
    p.hide(hide);
    Ok(p)
}

pub fn report_data(conn: &Connection) -> Result<Value, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let sources = store::report::sources(conn).map_err(db)?;
    let all = leads::list(conn).map_err(db)?;
    let reviews = review::list(conn).map_err(db)?;
    let items = store::report::lead_items(conn).map_err(db)?;
    let reviews_of = |l: &LeadRow| -> Vec<review::ReviewRow> {
        reviews.iter().filter(|r| r.lead == l.id).cloned().collect()
    };
    let with_reviews = |l: &LeadRow| {
        let mut v = serde_json::to_value(l).unwrap_or_default();
        let of = reviews_of(l);
        v["finding"] = json!(review::is_finding(l, &of));
        v["confirmed_by"] = json!(review::current_confirmers(&of));
        v["reviews"] = json!(of);
        v["item"] = items.get(&l.id).cloned().unwrap_or(Value::Null);
        v
    };
    // Findings: confirmed, and on a four-eyes lead by two reviewers. A four-eyes lead one
    // reviewer confirmed still awaits review.
    let findings: Vec<Value> = all
        .iter()
        .filter(|l| review::is_finding(l, &reviews_of(l)))
        .map(with_reviews)
        .collect();
    let awaiting: Vec<Value> = all
        .iter()
        .filter(|l| {
            l.active
                && (l.state.awaiting_review()
                    || (l.state == LeadState::Confirmed && !review::is_finding(l, &reviews_of(l))))
        })
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
    let items_examined = store::report::item_count(conn).map_err(db)?;
    Ok(json!({
        "empty": items_examined == 0,
        "items_examined": items_examined,
        "rule_stats": review::rule_stats(conn)?,
        "processing_record": record::processing_record(conn)?,
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
        Value::Null => "—".into(),
        other => crate::leads::words::plain(other),
    }
}

/// A number as people read it (0.641, not 0.64102564).
fn number(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| text(v), crate::leads::words::number)
}

/// The lead's thumbnail, blurred to a coarse mosaic, as a data URI, so that the report is one
/// self-contained file that shows where a picture is without showing the picture (DESIGN:
/// sensitive thumbnails stay blurred until a reviewer reveals them, and reveals are logged:
/// `spoor reveal`).
fn thumbnail_uri(thumbs_dir: Option<&std::path::Path>, lead: &Value) -> Option<String> {
    match lead["thumbnail_key"].as_str() {
        Some(key) => blurred_thumbnail(thumbs_dir, key),
        // A picture cluster or a place: the first of its members that has one.
        None => lead["hits"]["subject"]["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m["sha256"].as_str())
            .find_map(|key| blurred_thumbnail(thumbs_dir, key)),
    }
}

fn blurred_thumbnail(thumbs_dir: Option<&std::path::Path>, key: &str) -> Option<String> {
    use base64::Engine;
    let bytes = crate::media::thumbs::read(thumbs_dir?, key).ok()?;
    let bytes = crate::media::thumbs::blurred(&bytes).ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
     td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left;font-size:90%}\
     .awaiting{border:3px dashed #c60;padding:0 1em;background:#fff8f0}.findings{border:3px solid #070;padding:0 1em}\
     .hit{margin-bottom:.5em}.counter{background:#fffbe6;padding:2px 6px}code{word-break:break-all}.thumb{max-width:128px;max-height:128px;margin-top:4px}";

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
                        @if let Some(members) = l["hits"]["subject"]["members"].as_array() {
                            br; small { (members.len()) " member(s):" }
                            ul { @for m in members { li { code { (text(&m["source"])) ":" (text(&m["path"])) } @if let Some(lead) = m["lead"].as_str() { " (lead " code { (lead) } ")" } } } }
                        }
                        @if let Some(ids) = l["hits"]["subject"]["identities"].as_array() {
                            br; small { "identities: " @for (n, i) in ids.iter().enumerate() { @if n > 0 { ", " } code { (text(i)) } } }
                        }
                        @if let Some(group) = l["part_of"].as_str() {
                            br; small { "gathered under the group lead " code { (group) } }
                        }
                        @if let Some(uri) = thumbnail_uri(thumbs_dir, l) {
                            br; img.thumb alt="thumbnail, blurred" src=(uri); br;
                            small { "blurred; " code { "spoor reveal CASE " (text(&l["id"])) " --by NAME --reason TEXT" } " shows it and logs who looked" }
                        }
                    }
                    td {
                        @for hit in l["hits"]["hits"].as_array().into_iter().flatten() {
                            div.hit {
                                b { (text(&hit["rule"])) } " (" (text(&hit["title"])) ")"
                                @if hit["four_eyes"] == true { " " i { "[four eyes]" } }
                                ": " (text(&hit["explanation"]))
                                br; small {
                                    "contributes " (number(&hit["weight"])) " × confidence " (number(&hit["confidence"]))
                                    " × precision " (if hit["precision"].is_null() { "1".to_string() } else { number(&hit["precision"]["factor"]) })
                                    " = " (format!("{:.1}", hit["contribution"].as_f64().unwrap_or(0.0)))
                                    @if hit["counted"] == false { " (a repeat of the same analyzer's observation: not added)" }
                                }
                                ul {
                                    @for o in hit["observations"].as_array().into_iter().flatten().chain(hit["with"].as_array().into_iter().flatten()) {
                                        li {
                                            code { (text(&o["kind"])) } " by " (text(&o["analyzer"])) " v" (text(&o["analyzer_version"]))
                                            ": " (text(&o["words"])) " — confidence " (number(&o["confidence"]))
                                            br; small { (text(&o["precision"]["words"])) }
                                            br; small { "error margin: " (text(&o["error_margin"])) }
                                        }
                                    }
                                    @for p in hit["parts"].as_array().into_iter().flatten() {
                                        li { "rests on " b { (text(&p["rule"])) } " on " code { (text(&p["subject"])) } " (lead " code { (text(&p["lead"])) } ", via " (text(&p["via"])) ")" }
                                    }
                                }
                            }
                        }
                        @let counter = l["hits"]["counter_indications"].as_array().cloned().unwrap_or_default();
                        @if !counter.is_empty() {
                            div.counter { b { "Counter-indications: " } ul { @for c in &counter { li { (text(c)) } } } }
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
                @if data["empty"] == true {
                    p.awaiting { b { "This case holds no items: " } "nothing was examined, so there are no leads and no findings." }
                }
                @if let Some(p) = data["pseudonymized"].as_object() {
                    p { b { "Pseudonymized: " } (text(&p["what"].clone())) " (key SHA-256 " code { (text(&p["key_sha256"].clone())) } "). Thumbnails are left out." }
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
                h2 { "Rules: what reviewers decided" }
                p { "Per rule, its leads and their decisions: precision = confirmed / decided, the error margin as investigators meet it, beside each model card's (in the observations above)." }
                table {
                    tr { th { "rule" } th { "leads" } th { "proposed" } th { "needs-info" } th { "confirmed" } th { "rejected" } th { "precision" } }
                    @for r in data["rule_stats"].as_array().into_iter().flatten().filter(|r| r["leads"].as_u64() != Some(0)) {
                        tr {
                            td { (text(&r["rule"])) } td { (text(&r["leads"])) } td { (text(&r["proposed"])) } td { (text(&r["needs_info"])) }
                            td { (text(&r["confirmed"])) } td { (text(&r["rejected"])) }
                            td { @if r["precision"].is_null() { "no decisions yet" } @else { (number(&r["precision"])) } }
                        }
                    }
                }
                h2 { "Processing record" }
                @let record = &data["processing_record"];
                p { "Which analyzers and models read the evidence, against which lists and rules (the whole record: " code { "spoor report CASE --format processing-record" } ")." }
                table {
                    tr { th { "analyzer" } th { "version" } th { "observations" } th { "model card" } th { "error margin" } }
                    @for a in record["analyzers"].as_array().into_iter().flatten() {
                        tr {
                            td { (text(&a["analyzer"])) } td { (text(&a["version"])) } td { (text(&a["observations"])) }
                            td { @if let Some(c) = a["model_card"].as_object() {
                                code { (text(&c["card"])) } " — model SHA-256 " code { (text(&c["model_sha256"])) } ", threshold " (text(&c["threshold"])) ", precision " (number(&c["precision"])) " on " (text(&c["images"])) " pictures"
                            } @else { "—" } }
                            td { small { (text(&a["error_margin"])) } }
                        }
                    }
                }
                p { "Rules: version " (text(&record["rules"]["version"])) " from " (text(&record["rules"]["origin"])) ", SHA-256 " code { (text(&record["rules"]["sha256"])) } "." }
                (table_of(&["list", "kind", "SHA-256"], &["list", "kind", "sha256"], &record["lists_of_interest"]))
                (table_of(&["when", "who", "action"], &["at", "actor", "action"], &json!(record["media_revealed"].as_array().into_iter().flatten().chain(record["reports_and_exports"].as_array().into_iter().flatten()).collect::<Vec<_>>())))
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
