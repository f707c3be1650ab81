//! The case's word index (tantivy, under `CASE/index`) over message bodies, OCR text and the
//! text of documents (plain-text files and text attachments, first MiB of each), each
//! document pointing back to its item and its place in it; and watch lists (`--keywords`),
//! whose hits become observations. Both are rebuilt from the store after every scan, so the
//! index always matches the store (written to `index.tmp`, then renamed into place).

use std::path::{Path, PathBuf};

use serde_json::json;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, STORED, STRING, Schema, TEXT, Value};
use tantivy::{Index, IndexWriter, TantivyDocument, doc};

use crate::analyze::ObservationDraft;

struct Fields {
    text: Field,
    kind: Field,
    source: Field,
    path: Field,
    locator: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        text: b.add_text_field("text", TEXT | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        source: b.add_text_field("source", STRING | STORED),
        path: b.add_text_field("path", STRING | STORED),
        locator: b.add_text_field("locator", STORED),
    };
    (b.build(), f)
}

use crate::model::CaseText;

pub fn index_dir(case: &Path) -> PathBuf {
    case.join("index")
}

/// Rebuilds the word index of the case from its texts ([`crate::store::case_texts`]).
/// Returns the number of documents.
pub fn rebuild(all: &[CaseText], case: &Path) -> Result<usize, String> {
    let tmp = case.join("index.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let (schema, f) = schema();
    let err = |e: tantivy::TantivyError| format!("word index: {e}");
    let index = Index::create_in_dir(&tmp, schema).map_err(err)?;
    // 50 MB of indexing memory: the writer's minimum per thread is 15 MB.
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 50_000_000).map_err(err)?;
    for t in all {
        writer
            .add_document(doc!(
                f.text => t.text.as_str(), f.kind => t.kind, f.source => t.source.as_str(),
                f.path => t.path.as_str(), f.locator => t.locator.to_string(),
            ))
            .map_err(err)?;
    }
    writer.commit().map_err(err)?;
    drop(writer);
    let dir = index_dir(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(all.len())
}

#[derive(Debug, serde::Serialize)]
pub struct Hit {
    pub score: f32,
    pub kind: String,
    pub source: String,
    pub path: String,
    pub locator: serde_json::Value,
    pub snippet: String,
}

/// The best `limit` hits for a query in tantivy's syntax (words, "phrases", AND/OR, -not).
pub fn search(case: &Path, query: &str, limit: usize) -> Result<Vec<Hit>, String> {
    let dir = index_dir(case);
    if !dir.is_dir() {
        return Err(format!(
            "{}: no word index (run a scan first)",
            dir.display()
        ));
    }
    let err = |e: tantivy::TantivyError| format!("word index: {e}");
    let index = Index::open_in_dir(&dir).map_err(err)?;
    let (_, f) = schema();
    let searcher = index.reader().map_err(err)?.searcher();
    let parser = QueryParser::for_index(&index, vec![f.text]);
    let q = parser
        .parse_query(query)
        .map_err(|e| format!("query {query:?}: {e}"))?;
    let top = searcher
        .search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())
        .map_err(err)?;
    let snippets =
        tantivy::snippet::SnippetGenerator::create(&searcher, &*q, f.text).map_err(err)?;
    let mut hits = Vec::new();
    for (score, address) in top {
        let d: TantivyDocument = searcher.doc(address).map_err(err)?;
        let text = |field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let snippet = snippets.snippet_from_doc(&d);
        let mut s = snippet.fragment().to_string();
        for r in snippet.highlighted().iter().rev() {
            s.insert(r.end, ']');
            s.insert(r.start, '[');
        }
        hits.push(Hit {
            score,
            kind: text(f.kind),
            source: text(f.source),
            path: text(f.path),
            locator: serde_json::from_str(&text(f.locator)).unwrap_or_default(),
            snippet: s.replace('\n', " "),
        });
    }
    Ok(hits)
}

/// A watch list: one term or phrase per line, optionally a tab and a category; `#` comments.
#[derive(Clone, Debug)]
pub struct Keywords {
    pub file: String,
    pub sha256: String,
    pub terms: Vec<(String, Option<String>, regex::Regex)>,
}

impl Keywords {
    pub fn load(path: &Path) -> Result<Keywords, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("--keywords {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut terms = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (term, category) = match line.split_once('\t') {
                Some((t, c)) => (
                    t.trim(),
                    Some(c.trim().to_string()).filter(|c| !c.is_empty()),
                ),
                None => (line.trim(), None),
            };
            // Whole words, any case; spaces in a phrase match any run of white space.
            let pattern = term
                .split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+");
            let re = regex::Regex::new(&format!(r"(?i)(?:^|\b){pattern}(?:\b|$)"))
                .map_err(|e| format!("--keywords {}: {term:?}: {e}", path.display()))?;
            terms.push((term.to_string(), category, re));
        }
        if terms.is_empty() {
            return Err(format!("--keywords {}: no terms", path.display()));
        }
        use sha2::Digest;
        Ok(Keywords {
            file: path.display().to_string(),
            sha256: crate::evidence::digest::to_hex(&sha2::Sha256::digest(&bytes)),
            terms,
        })
    }
}

/// The `text.keyword_hit` observations of the case, recomputed from its texts: per item and
/// term, the count and up to 20 occurrences with their place and context. Pure: the engine
/// stores what it returns, replacing the hits written before.
pub fn keyword_hits(all: &[CaseText], keywords: &Keywords) -> crate::model::PassOutput {
    let mut per: std::collections::BTreeMap<
        (crate::model::ItemId, usize),
        (usize, Vec<serde_json::Value>),
    > = Default::default();
    for t in all {
        let (item, locator, text) = (&t.item, &t.locator, &t.text);
        for (n, (_, _, re)) in keywords.terms.iter().enumerate() {
            for m in re.find_iter(text) {
                let slot = per.entry((*item, n)).or_default();
                slot.0 += 1;
                if slot.1.len() < 20 {
                    let (mut a, mut b) =
                        (m.start().saturating_sub(40), (m.end() + 40).min(text.len()));
                    while !text.is_char_boundary(a) {
                        a -= 1;
                    }
                    while !text.is_char_boundary(b) {
                        b += 1;
                    }
                    slot.1.push(json!({"in": locator, "start": m.start(), "end": m.end(), "context": text[a..b].replace('\n', " ")}));
                }
            }
        }
    }
    let mut observations = Vec::new();
    for ((item, n), (count, occurrences)) in &per {
        let (term, category, _) = &keywords.terms[*n];
        let draft = ObservationDraft {
            kind: crate::model::ObservationKind::TextKeywordHit,
            value: json!({"term": term, "category": category, "count": count, "occurrences": occurrences}),
            confidence: 1.0,
            provenance: json!({"list": keywords.file, "list_sha256": keywords.sha256}),
        };
        observations.push((*item, draft));
    }
    crate::model::PassOutput {
        card: crate::model::PassCard {
            name: "keywords",
            version: "1",
            error_margin: "exact whole-word matches of the watch list's terms, any case, in message bodies and OCR text; \
                 spelling variants, other languages and words split by OCR errors are not found",
        },
        replaces: &[crate::model::ObservationKind::TextKeywordHit],
        observations,
    }
}
