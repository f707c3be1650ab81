//! Reports for people (HTML) and machines (JSON, JSONL export).
//!
//! Findings are confirmed leads only. Leads still awaiting a decision appear in their own,
//! clearly marked section and never as findings; rejected leads are listed apart. Exports
//! are sorted so that two scans of the same evidence export byte-identically (docs/schema.md).

use std::io::Write;

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::evidence::digest::to_hex;
use crate::leads::{self, LeadRow};
use crate::model::LeadState;
use crate::review;
use crate::store::audit;

pub const EXPORT_KINDS: &[&str] = &[
    "items",
    "observations",
    "records",
    "errors",
    "leads",
    "reviews",
];

fn path_fields(obj: &mut serde_json::Map<String, Value>, path: &[u8]) {
    match std::str::from_utf8(path) {
        Ok(s) => {
            obj.insert("path".into(), json!(s));
        }
        Err(_) => {
            // Non-UTF-8 names are kept byte-exact in `path_hex`; `path` is for reading.
            obj.insert("path".into(), json!(String::from_utf8_lossy(path)));
            obj.insert("path_hex".into(), json!(to_hex(path)));
        }
    }
}

fn hex_opt(v: Option<Vec<u8>>) -> Value {
    v.map(|b| json!(to_hex(&b))).unwrap_or(Value::Null)
}

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

enum ExportError {
    Io(std::io::Error),
    Other(String),
}

impl From<String> for ExportError {
    fn from(s: String) -> Self {
        ExportError::Other(s)
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
    let mut emit = |out: &mut dyn Write, v: Value| -> Result<(), ExportError> {
        serde_json::to_writer(&mut *out, &v).map_err(|e| ExportError::Io(e.into()))?;
        out.write_all(b"\n").map_err(ExportError::Io)?;
        lines += 1;
        Ok(())
    };
    if wanted("items") {
        let mut stmt = conn
            .prepare(
                "SELECT s.label, i.path, i.kind, i.size, i.mode, i.uid, i.gid, i.inode, i.nlink, i.mtime, i.atime, i.ctime, i.btime, i.md5, i.sha1, i.sha256, i.mime, i.link_target,
                        (SELECT CASE WHEN SUM(json_extract(o.value, '$.status') = 'bad') > 0 THEN 'bad' ELSE 'good' END
                         FROM observations o WHERE o.item_id = i.id AND o.kind = 'hashset.match' HAVING COUNT(*) > 0),
                        p.path, i.derivation
                 FROM items i JOIN sources s ON s.id = i.source_id LEFT JOIN items p ON p.id = i.parent_id
                 ORDER BY s.label, i.path",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let mut o = serde_json::Map::new();
            o.insert("record".into(), json!("item"));
            o.insert("source".into(), json!(r.get::<_, String>(0).map_err(db)?));
            path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
            o.insert("kind".into(), json!(r.get::<_, String>(2).map_err(db)?));
            for (i, name) in [
                (3, "size"),
                (4, "mode"),
                (5, "uid"),
                (6, "gid"),
                (7, "inode"),
                (8, "nlink"),
            ] {
                o.insert(name.into(), json!(r.get::<_, i64>(i).map_err(db)?));
            }
            for (i, name) in [(9, "mtime"), (10, "atime"), (11, "ctime"), (12, "btime")] {
                o.insert(
                    name.into(),
                    json!(r.get::<_, Option<String>>(i).map_err(db)?),
                );
            }
            for (i, name) in [(13, "md5"), (14, "sha1"), (15, "sha256")] {
                o.insert(name.into(), hex_opt(r.get(i).map_err(db)?));
            }
            o.insert(
                "mime".into(),
                json!(r.get::<_, Option<String>>(16).map_err(db)?),
            );
            let target: Option<Vec<u8>> = r.get(17).map_err(db)?;
            o.insert(
                "link_target".into(),
                json!(target.as_deref().map(String::from_utf8_lossy)),
            );
            // Derived from the item's hash-set observations: "good" marks it ignorable.
            o.insert(
                "known".into(),
                json!(r.get::<_, Option<String>>(18).map_err(db)?),
            );
            // Items made from another item (a video's keyframes, an e-mail's attachments): the
            // parent's path and how.
            if let Some(parent) = r.get::<_, Option<Vec<u8>>>(19).map_err(db)? {
                o.insert(
                    "parent_path".into(),
                    json!(crate::evidence::display_path(&parent)),
                );
                let derivation: Option<String> = r.get(20).map_err(db)?;
                o.insert(
                    "derivation".into(),
                    derivation
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or(Value::Null),
                );
            }
            emit(out, Value::Object(o))?;
        }
    }
    if wanted("observations") {
        let mut stmt = conn
            .prepare(
                "SELECT s.label, i.path, o.subject, o.kind, o.analyzer, o.analyzer_version, o.value, o.confidence, o.provenance
                 FROM observations o LEFT JOIN items i ON i.id = o.item_id LEFT JOIN sources s ON s.id = i.source_id
                 ORDER BY s.label, i.path, o.kind, o.analyzer, o.value",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let mut o = serde_json::Map::new();
            o.insert("record".into(), json!("observation"));
            o.insert(
                "source".into(),
                json!(r.get::<_, Option<String>>(0).map_err(db)?),
            );
            path_fields(
                &mut o,
                &r.get::<_, Option<Vec<u8>>>(1)
                    .map_err(db)?
                    .unwrap_or_default(),
            );
            o.insert("subject".into(), json!(r.get::<_, String>(2).map_err(db)?));
            o.insert("kind".into(), json!(r.get::<_, String>(3).map_err(db)?));
            o.insert("analyzer".into(), json!(r.get::<_, String>(4).map_err(db)?));
            o.insert(
                "analyzer_version".into(),
                json!(r.get::<_, String>(5).map_err(db)?),
            );
            o.insert(
                "value".into(),
                serde_json::from_str(&r.get::<_, String>(6).map_err(db)?).unwrap_or(Value::Null),
            );
            o.insert("confidence".into(), json!(r.get::<_, f64>(7).map_err(db)?));
            o.insert(
                "provenance".into(),
                serde_json::from_str(&r.get::<_, String>(8).map_err(db)?).unwrap_or(Value::Null),
            );
            emit(out, Value::Object(o))?;
        }
    }
    if wanted("records") {
        // Ordered by source, item, then the record's place in the item (line / element order).
        let mut stmt = conn
            .prepare(
                "SELECT s.label, i.path, r.kind, r.format, r.locator, r.time_utc, r.time_local, r.time_offset, r.zone_known,
                        r.time_assumption, r.direction, r.participants, r.body, r.thread, r.extra, r.analyzer, r.analyzer_version
                 FROM records r JOIN items i ON i.id = r.item_id JOIN sources s ON s.id = i.source_id
                 ORDER BY s.label, i.path, r.id",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let text = |i: usize| r.get::<_, Option<String>>(i).map_err(db);
            let parse = |v: Option<String>| {
                v.and_then(|v| serde_json::from_str::<Value>(&v).ok())
                    .unwrap_or(Value::Null)
            };
            let mut o = serde_json::Map::new();
            o.insert("record".into(), json!("comm"));
            o.insert("source".into(), json!(text(0)?));
            path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
            o.insert("kind".into(), json!(text(2)?));
            o.insert("format".into(), json!(text(3)?));
            o.insert("locator".into(), parse(text(4)?));
            o.insert(
                "time".into(),
                json!({
                    "utc": text(5)?, "local": text(6)?, "offset": text(7)?,
                    "zone_known": r.get::<_, bool>(8).map_err(db)?, "assumption": text(9)?,
                }),
            );
            o.insert("direction".into(), json!(text(10)?));
            o.insert("participants".into(), parse(text(11)?));
            o.insert("body".into(), json!(text(12)?));
            o.insert("thread".into(), json!(text(13)?));
            o.insert("extra".into(), parse(text(14)?));
            o.insert("analyzer".into(), json!(text(15)?));
            o.insert("analyzer_version".into(), json!(text(16)?));
            emit(out, Value::Object(o))?;
        }
    }
    if wanted("errors") {
        let mut stmt = conn
            .prepare("SELECT s.label, e.path, e.stage, e.reason FROM item_errors e LEFT JOIN sources s ON s.id = e.source_id ORDER BY s.label, e.path, e.stage, e.reason")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let mut o = serde_json::Map::new();
            o.insert("record".into(), json!("error"));
            o.insert(
                "source".into(),
                json!(r.get::<_, Option<String>>(0).map_err(db)?),
            );
            path_fields(&mut o, &r.get::<_, Vec<u8>>(1).map_err(db)?);
            o.insert("stage".into(), json!(r.get::<_, String>(2).map_err(db)?));
            o.insert("reason".into(), json!(r.get::<_, String>(3).map_err(db)?));
            emit(out, Value::Object(o))?;
        }
    }
    if wanted("leads") {
        for lead in leads::list(conn).map_err(db)? {
            let mut v =
                serde_json::to_value(&lead).map_err(|e| ExportError::Other(e.to_string()))?;
            v["record"] = json!("lead");
            emit(out, v)?;
        }
    }
    if wanted("reviews") {
        for r in review::list(conn).map_err(db)? {
            let mut v = serde_json::to_value(&r).map_err(|e| ExportError::Other(e.to_string()))?;
            v["record"] = json!("review");
            emit(out, v)?;
        }
    }
    out.flush().map_err(ExportError::Io)?;
    Ok(lines)
}

/// Everything a report shows, gathered once for both formats.
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
    let sources: Vec<Value> = {
        let mut stmt = conn
            .prepare("SELECT label, root_path, examiner, first_started, finished, file_count, dir_count, other_count, byte_count, error_count, root_digest FROM sources ORDER BY label")
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(json!({
                    "label": r.get::<_, String>(0)?, "root": String::from_utf8_lossy(&r.get::<_, Vec<u8>>(1)?),
                    "examiner": r.get::<_, String>(2)?, "first_scan": r.get::<_, String>(3)?, "finished": r.get::<_, Option<String>>(4)?,
                    "files": r.get::<_, Option<i64>>(5)?, "dirs": r.get::<_, Option<i64>>(6)?, "other": r.get::<_, Option<i64>>(7)?,
                    "bytes": r.get::<_, Option<i64>>(8)?, "errors": r.get::<_, Option<i64>>(9)?, "root_digest": r.get::<_, Option<String>>(10)?,
                }))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
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
    let errors: Vec<Value> = {
        let mut stmt = conn.prepare("SELECT s.label, e.path, e.stage, e.reason FROM item_errors e LEFT JOIN sources s ON s.id = e.source_id ORDER BY s.label, e.path, e.stage").map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok(json!({"source": r.get::<_, Option<String>>(0)?, "path": crate::evidence::display_path(&r.get::<_, Vec<u8>>(1)?), "stage": r.get::<_, String>(2)?, "reason": r.get::<_, String>(3)?})))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let hashsets: Vec<Value> = {
        let mut stmt = conn.prepare("SELECT DISTINCT name, format, status, category, file_sha256, entries, problems FROM hashsets ORDER BY name").map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok(json!({"name": r.get::<_, String>(0)?, "format": r.get::<_, String>(1)?, "status": r.get::<_, String>(2)?, "category": r.get::<_, Option<String>>(3)?, "sha256": r.get::<_, String>(4)?, "entries": r.get::<_, i64>(5)?, "problems": r.get::<_, i64>(6)?})))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let audit_verdict = match audit::verify(conn).map_err(db)? {
        audit::Verdict::Intact { entries, head } => {
            json!({"intact": true, "entries": entries, "head": head})
        }
        audit::Verdict::Broken { seq, reason } => {
            json!({"intact": false, "first_bad_entry": seq, "reason": reason})
        }
    };
    let places: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM observations WHERE kind = 'location.place'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
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
