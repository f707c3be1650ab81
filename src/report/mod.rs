//! Reports for people (HTML) and machines (JSON, JSONL export).
//!
//! Findings are confirmed leads only. Leads still awaiting a decision appear in their own,
//! clearly marked section and never as findings; rejected leads are listed apart. Exports
//! are sorted so that two scans of the same evidence export byte-identically (docs/schema.md).

use std::io::Write;

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
    drop(emit);
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

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => escape(s),
        Value::Null => "—".into(),
        other => escape(&other.to_string()),
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

fn lead_rows(
    html: &mut String,
    leads: &[Value],
    with_decision: bool,
    thumbs_dir: Option<&std::path::Path>,
) {
    html.push_str("<table><tr><th>lead</th><th>rank</th><th>score</th><th>source</th><th>path</th><th>why (rule → explanation; observations; error margin)</th>");
    if with_decision {
        html.push_str("<th>decisions</th>");
    }
    html.push_str("</tr>\n");
    for l in leads {
        html.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{:.1}</td><td>{}</td><td><code>{}</code>{}</td><td>",
            text(&l["id"]), text(&l["rank"]), l["score"].as_f64().unwrap_or(0.0), text(&l["source"]), text(&l["path"]),
            thumbnail_uri(thumbs_dir, l)
                .map(|uri| format!("<br><img class=thumb alt=\"thumbnail, blurred\" src=\"{uri}\"><br><small>blurred; <code>spoor reveal CASE {} --by NAME --reason TEXT</code> shows it and logs who looked</small>", text(&l["id"])))
                .unwrap_or_default()
        ));
        for hit in l["hits"]["hits"].as_array().into_iter().flatten() {
            html.push_str(&format!(
                "<div class=hit><b>{}</b> ({}): {}<ul>",
                text(&hit["rule"]),
                text(&hit["title"]),
                text(&hit["explanation"])
            ));
            for o in hit["observations"].as_array().into_iter().flatten() {
                html.push_str(&format!(
                    "<li><code>{}</code> by {} v{} — confidence {} — <code>{}</code><br><small>error margin: {}</small></li>",
                    text(&o["kind"]), text(&o["analyzer"]), text(&o["analyzer_version"]), text(&o["confidence"]), text(&o["value"]), text(&o["error_margin"])
                ));
            }
            html.push_str("</ul></div>");
        }
        html.push_str("</td>");
        if with_decision {
            html.push_str("<td>");
            for r in l["reviews"].as_array().into_iter().flatten() {
                html.push_str(&format!(
                    "<div>{} by <b>{}</b> at {}: {}</div>",
                    text(&r["decision"]),
                    text(&r["reviewer"]),
                    text(&r["at"]),
                    text(&r["reason"])
                ));
            }
            html.push_str("</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// The report as one HTML file; `thumbs_dir` (CASE/thumbs) lets it embed the pictures of the
/// leads on images.
pub fn render_html(data: &Value, thumbs_dir: Option<&std::path::Path>) -> String {
    let mut h = String::from(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>spoor case report</title><style>\
         body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}\
         td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left;font-size:90%}\
         .awaiting{border:3px dashed #c60;padding:0 1em;background:#fff8f0}.findings{border:3px solid #070;padding:0 1em}\
         .hit{margin-bottom:.5em}code{word-break:break-all}.thumb{max-width:128px;max-height:128px;margin-top:4px}</style></head><body>\n<h1>spoor case report</h1>\n",
    );
    h.push_str(&format!(
        "<p>spoor {} — rules digest <code>{}</code> — audit log: {}</p>\n",
        text(&data["tool"]["version"]),
        text(&data["rules_digest"]),
        if data["audit"]["intact"].as_bool() == Some(true) {
            format!(
                "intact, {} entries, head <code>{}</code>",
                text(&data["audit"]["entries"]),
                text(&data["audit"]["head"])
            )
        } else {
            format!(
                "<b>BROKEN</b> at entry {}: {}",
                text(&data["audit"]["first_bad_entry"]),
                text(&data["audit"]["reason"])
            )
        }
    ));
    h.push_str("<h2>Evidence sources</h2><table><tr><th>label</th><th>root</th><th>examiner</th><th>first scan</th><th>finished</th><th>files</th><th>dirs</th><th>other</th><th>bytes</th><th>errors</th><th>root digest (SHA-256)</th></tr>\n");
    for s in data["sources"].as_array().into_iter().flatten() {
        h.push_str("<tr>");
        for k in [
            "label",
            "root",
            "examiner",
            "first_scan",
            "finished",
            "files",
            "dirs",
            "other",
            "bytes",
            "errors",
            "root_digest",
        ] {
            h.push_str(&format!("<td>{}</td>", text(&s[k])));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    let findings = data["findings"].as_array().cloned().unwrap_or_default();
    h.push_str(&format!(
        "<div class=findings><h2>Findings ({}): leads confirmed by a named reviewer</h2>\n",
        findings.len()
    ));
    if findings.is_empty() {
        h.push_str("<p>No lead has been confirmed. Nothing in this case is a finding yet.</p>\n");
    } else {
        lead_rows(&mut h, &findings, true, thumbs_dir);
    }
    h.push_str("</div>\n");
    let awaiting = data["awaiting_review"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    h.push_str(&format!(
        "<div class=awaiting><h2>AWAITING REVIEW ({}) — proposals, not findings</h2>\n<p>These leads were produced by rules from observations. \
         None has been confirmed by a person; none may be acted on until a named reviewer confirms it (<code>spoor review</code>).</p>\n",
        awaiting.len()
    ));
    lead_rows(&mut h, &awaiting, true, thumbs_dir);
    h.push_str("</div>\n");
    let rejected = data["rejected"].as_array().cloned().unwrap_or_default();
    h.push_str(&format!("<h2>Rejected leads ({})</h2>\n", rejected.len()));
    lead_rows(&mut h, &rejected, true, thumbs_dir);
    h.push_str("<h2>Hash sets used</h2><table><tr><th>name</th><th>format</th><th>status</th><th>category</th><th>entries</th><th>malformed lines</th><th>file SHA-256</th></tr>\n");
    for s in data["hashsets"].as_array().into_iter().flatten() {
        h.push_str("<tr>");
        for k in [
            "name", "format", "status", "category", "entries", "problems", "sha256",
        ] {
            h.push_str(&format!("<td>{}</td>", text(&s[k])));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    let errors = data["errors"].as_array().cloned().unwrap_or_default();
    h.push_str(&format!("<h2>Items that could not be fully processed ({})</h2><table><tr><th>source</th><th>path</th><th>stage</th><th>reason</th></tr>\n", errors.len()));
    for e in &errors {
        h.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            text(&e["source"]),
            text(&e["path"]),
            text(&e["stage"]),
            text(&e["reason"])
        ));
    }
    h.push_str("</table>\n");
    if let Some(a) = data["place_attribution"].as_str() {
        h.push_str(&format!("<p><small>{}</small></p>\n", escape(a)));
    }
    h.push_str("</body></html>\n");
    h
}
