//! Format recognition and the line parsers. Every parser returns entries and problems;
//! only an unrecognisable file as a whole is an error.

use std::io::Read;

use super::{Format, HashEntry, ParsedSet, Problem};
use crate::evidence::digest::{Md5, Sha1, Sha256};

/// Upper bound on a zip member's inflated size: a hash set is text, and a zip bomb must not
/// take the workstation's memory (the full NSRL legacy RDS NSRLFile.txt is ~ 20 GB: use the
/// extracted file for that, which is streamed from disk).
const MAX_ZIP_MEMBER: u64 = 4 << 30;

pub fn parse_bytes(bytes: &[u8]) -> Result<ParsedSet, String> {
    // "PK00" opens archives written by old PKZIP with spanning support (HashKeeper's Z00236.zip).
    if bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK00PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
    {
        return parse_zip(bytes);
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if first.starts_with('{') || first.starts_with('[') {
        return parse_vics(text);
    }
    if first.starts_with("%%%% HASHDEEP") {
        return Ok(parse_hashdeep(text));
    }
    if let Some(columns) = header_columns(first) {
        return Ok(parse_header_csv(text, columns));
    }
    if bsd_line(first).is_some() {
        return Ok(parse_lines(text, Format::Bsd));
    }
    let set = parse_lines(text, Format::PlainList);
    if set.entries.is_empty() {
        return Err(format!(
            "no hash set format recognised ({} lines, none a digest); first line: {:?}",
            text.lines().count(),
            first.chars().take(80).collect::<String>()
        ));
    }
    Ok(set)
}

fn parse_zip(bytes: &[u8]) -> Result<ParsedSet, String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("zip: {e}"))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let pick = |pred: &dyn Fn(&str) -> bool| {
        names
            .iter()
            .find(|n| pred(&n.to_ascii_lowercase()))
            .cloned()
    };
    let member = pick(&|n| n.ends_with("nsrlfile.txt"))
        .or_else(|| pick(&|n| n.ends_with(".hsh")))
        .or_else(|| pick(&|n| n.ends_with(".json")))
        .or_else(|| pick(&|n| n.ends_with(".txt") || n.ends_with(".csv")))
        .ok_or_else(|| {
            format!(
                "zip holds no hash set member (members: {})",
                names.join(", ")
            )
        })?;
    let file = archive
        .by_name(&member)
        .map_err(|e| format!("zip member {member}: {e}"))?;
    if file.size() > MAX_ZIP_MEMBER {
        return Err(format!(
            "zip member {member} inflates to {} bytes; extract it first",
            file.size()
        ));
    }
    let mut inner = Vec::with_capacity(file.size() as usize);
    file.take(MAX_ZIP_MEMBER)
        .read_to_end(&mut inner)
        .map_err(|e| format!("zip member {member}: {e}"))?;
    let mut set = parse_bytes(&inner).map_err(|e| format!("zip member {member}: {e}"))?;
    if set.format == Format::NsrlRds {
        set.format = Format::NsrlRdsZip;
    }
    Ok(set)
}

/// Splits one CSV line, honouring double quotes and `""` escapes.
pub(crate) fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() && !was_quoted {
            quoted = true;
            was_quoted = true;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else {
            cur.push(c);
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(cur);
    Ok(fields)
}

#[derive(Clone, Debug, Default)]
struct Columns {
    format: Option<Format>,
    md5: Option<usize>,
    sha1: Option<usize>,
    sha256: Option<usize>,
    name: Option<usize>,
    dir: Option<usize>,
    size: Option<usize>,
    count: usize,
}

/// Recognises a CSV header row naming digest columns (NSRL, HashKeeper, iLook, generic).
fn header_columns(line: &str) -> Option<Columns> {
    if !line.contains(',') {
        return None;
    }
    let names = split_csv(line).ok()?;
    let mut c = Columns {
        count: names.len(),
        ..Columns::default()
    };
    for (i, raw) in names.iter().enumerate() {
        let n = raw.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
        match n.as_str() {
            "md5" | "v3hash" | "v4hash" | "md5hash" | "hashmd5" => c.md5 = Some(i),
            "hash" => c.md5 = c.md5.or(Some(i)),
            "sha1" | "hashsha1" | "sha1hash" => c.sha1 = Some(i),
            "sha256" | "hashsha256" | "sha256hash" => c.sha256 = Some(i),
            "filename" | "name" => c.name = Some(i),
            "directory" | "filepath" => c.dir = Some(i),
            "filesize" | "size" => c.size = Some(i),
            _ => {}
        }
    }
    if c.md5.is_none() && c.sha1.is_none() && c.sha256.is_none() {
        return None;
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    c.format = Some(if lower.iter().any(|n| n == "productcode") {
        Format::NsrlRds
    } else if lower.iter().any(|n| n == "hashset_id") {
        Format::HashKeeper
    } else if lower.iter().any(|n| n == "v3hash" || n == "v4hash") {
        Format::ILook
    } else {
        Format::HeaderCsv
    });
    Some(c)
}

fn digest_field<T>(
    fields: &[String],
    idx: Option<usize>,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, String> {
    let Some(i) = idx else { return Ok(None) };
    let v = fields.get(i).map(|s| s.trim()).unwrap_or("");
    if v.is_empty() {
        return Ok(None);
    }
    parse(v).map(Some).ok_or_else(|| {
        format!(
            "{what} column is not a valid {what} digest: {:?}",
            v.chars().take(80).collect::<String>()
        )
    })
}

fn parse_header_csv(text: &str, c: Columns) -> ParsedSet {
    let mut set = ParsedSet {
        format: c.format.unwrap_or(Format::HeaderCsv),
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let mut seen_header = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if !seen_header {
            seen_header = true;
            continue;
        }
        let problem = |reason: String| Problem {
            location: format!("line {}", n + 1),
            reason,
        };
        let fields = match split_csv(line) {
            Ok(f) => f,
            Err(e) => {
                set.problems.push(problem(e));
                continue;
            }
        };
        if fields.len() < c.count {
            set.problems.push(problem(format!(
                "{} fields, header has {}",
                fields.len(),
                c.count
            )));
            continue;
        }
        let entry = (|| -> Result<HashEntry, String> {
            let md5 = digest_field(&fields, c.md5, Md5::from_hex, "md5")?;
            let sha1 = digest_field(&fields, c.sha1, Sha1::from_hex, "sha1")?;
            let sha256 = digest_field(&fields, c.sha256, Sha256::from_hex, "sha256")?;
            if md5.is_none() && sha1.is_none() && sha256.is_none() {
                return Err("no digest on the line".into());
            }
            let name = c.name.and_then(|i| fields.get(i)).map(|s| s.to_string());
            let dir = c
                .dir
                .and_then(|i| fields.get(i))
                .map(|s| s.trim().to_string())
                .filter(|d| !d.is_empty() && d != "\\");
            let name = match (dir, name) {
                (Some(d), Some(n)) => Some(format!(
                    "{}{}{}",
                    d,
                    if d.ends_with(['\\', '/']) { "" } else { "\\" },
                    n
                )),
                (None, n) => n,
                (Some(d), None) => Some(d),
            };
            let size = c
                .size
                .and_then(|i| fields.get(i))
                .and_then(|s| s.trim().parse::<u64>().ok());
            Ok(HashEntry {
                md5,
                sha1,
                sha256,
                name,
                size,
                category: None,
            })
        })();
        match entry {
            Ok(e) => set.entries.push(e),
            Err(reason) => set.problems.push(problem(reason)),
        }
    }
    set
}

/// `%%%% HASHDEEP-1.0` / `%%%% size,md5,sha256,filename` / `## comment` / rows.
fn parse_hashdeep(text: &str) -> ParsedSet {
    let mut set = ParsedSet {
        format: Format::Hashdeep,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let mut columns: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let location = format!("line {}", n + 1);
        if let Some(rest) = line.strip_prefix("%%%% ") {
            if !rest.starts_with("HASHDEEP") {
                columns = rest
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect();
            }
            continue;
        }
        if line.starts_with("##") || line.trim().is_empty() {
            continue;
        }
        if columns.is_empty() {
            set.problems.push(Problem {
                location,
                reason: "row before the %%%% column header".into(),
            });
            continue;
        }
        // The file name is last and may itself contain commas.
        let fields: Vec<&str> = line.splitn(columns.len(), ',').collect();
        if fields.len() != columns.len() {
            set.problems.push(Problem {
                location,
                reason: format!("{} fields, header has {}", fields.len(), columns.len()),
            });
            continue;
        }
        let mut entry = HashEntry::default();
        let mut bad = None;
        for (col, value) in columns.iter().zip(&fields) {
            match col.as_str() {
                "size" => entry.size = value.parse().ok(),
                "md5" => {
                    entry.md5 = Md5::from_hex(value).or_else(|| {
                        bad = Some("md5");
                        None
                    })
                }
                "sha1" => {
                    entry.sha1 = Sha1::from_hex(value).or_else(|| {
                        bad = Some("sha1");
                        None
                    })
                }
                "sha256" => {
                    entry.sha256 = Sha256::from_hex(value).or_else(|| {
                        bad = Some("sha256");
                        None
                    })
                }
                "filename" => entry.name = Some(value.to_string()),
                _ => {}
            }
        }
        match bad {
            Some(col) => set.problems.push(Problem {
                location,
                reason: format!("{col} column is not a valid digest"),
            }),
            None if entry.md5.is_none() && entry.sha1.is_none() && entry.sha256.is_none() => {
                set.problems.push(Problem {
                    location,
                    reason: "no digest column".into(),
                })
            }
            None => set.entries.push(entry),
        }
    }
    set
}

fn digest_entry(hex: &str) -> Option<HashEntry> {
    let mut e = HashEntry::default();
    match hex.len() {
        32 => e.md5 = Some(Md5::from_hex(hex)?),
        40 => e.sha1 = Some(Sha1::from_hex(hex)?),
        64 => e.sha256 = Some(Sha256::from_hex(hex)?),
        _ => return None,
    }
    Some(e)
}

/// `MD5 (name) = hash`
fn bsd_line(line: &str) -> Option<HashEntry> {
    let (left, hash) = line.rsplit_once(" = ")?;
    let open = left.find(" (")?;
    let algo = left[..open].to_ascii_lowercase().replace('-', "");
    let name = left[open + 2..].strip_suffix(')')?;
    let entry = digest_entry(hash.trim())?;
    let expected = match algo.as_str() {
        "md5" => entry.md5.is_some(),
        "sha1" => entry.sha1.is_some(),
        "sha256" => entry.sha256.is_some(),
        _ => false,
    };
    expected.then(|| HashEntry {
        name: Some(name.to_string()),
        ..entry
    })
}

/// md5deep (`hash  name`), md5deep with sizes (`size  hash  name`), sha*sum, plain lists
/// (`hash` alone), BSD lines; `#` starts a comment.
fn parse_lines(text: &str, mut format: Format) -> ParsedSet {
    let mut set = ParsedSet {
        format,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let mut named = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        if let Some(e) = bsd_line(line) {
            set.entries.push(e);
            continue;
        }
        let mut tokens = line.splitn(2, char::is_whitespace);
        let first = tokens.next().unwrap_or("");
        let rest = tokens.next().map(str::trim_start).unwrap_or("");
        let parsed = if let Some(e) = digest_entry(first) {
            Some(HashEntry {
                name: (!rest.is_empty()).then(|| rest.trim_start_matches('*').to_string()),
                ..e
            })
        } else if let Ok(size) = first.parse::<u64>() {
            // md5deep -z: size, then hash, then name.
            let mut t = rest.splitn(2, char::is_whitespace);
            let hex = t.next().unwrap_or("");
            let name = t.next().map(str::trim_start).unwrap_or("");
            digest_entry(hex).map(|e| HashEntry {
                size: Some(size),
                name: (!name.is_empty()).then(|| name.to_string()),
                ..e
            })
        } else {
            None
        };
        match parsed {
            Some(e) => {
                named += e.name.is_some() as usize;
                set.entries.push(e);
            }
            None => set.problems.push(Problem {
                location: format!("line {}", n + 1),
                reason: format!(
                    "not a digest line: {:?}",
                    line.chars().take(80).collect::<String>()
                ),
            }),
        }
    }
    if format == Format::PlainList && named > 0 {
        format = Format::Md5deep;
    }
    set.format = format;
    set
}

/// VICS JSON: `{"value": [{"Media": [...]}]}` (2.0 cases) or `{"value": [media...]}` (1.3).
fn parse_vics(text: &str) -> Result<ParsedSet, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
    let mut set = ParsedSet {
        format: Format::VicsJson,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    let top: Vec<(String, &serde_json::Value)> = match &doc {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("[{i}]"), v))
            .collect(),
        serde_json::Value::Object(o) => match get_ci(o, "value").or_else(|| get_ci(o, "Media")) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("value[{i}]"), v))
                .collect(),
            _ => return Err("JSON without a `value` or `Media` array: not a VICS document".into()),
        },
        _ => return Err("JSON is neither an object nor an array".into()),
    };
    for (loc, record) in top {
        match record.as_object().and_then(|o| get_ci(o, "Media")) {
            Some(serde_json::Value::Array(media)) => {
                for (i, m) in media.iter().enumerate() {
                    vics_media(m, format!("{loc}.Media[{i}]"), &mut set);
                }
            }
            _ => vics_media(record, loc, &mut set),
        }
    }
    if set.entries.is_empty() && set.problems.is_empty() {
        return Err("VICS document holds no Media records".into());
    }
    Ok(set)
}

fn get_ci<'a>(
    o: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a serde_json::Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn vics_media(m: &serde_json::Value, location: String, set: &mut ParsedSet) {
    let Some(o) = m.as_object() else {
        set.problems.push(Problem {
            location,
            reason: "Media record is not an object".into(),
        });
        return;
    };
    let text = |k: &str| {
        get_ci(o, k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut entry = HashEntry::default();
    let mut bad = Vec::new();
    if let Some(v) = text("MD5") {
        entry.md5 = Md5::from_hex(v).or_else(|| {
            bad.push("MD5");
            None
        });
    }
    if let Some(v) = text("SHA1") {
        entry.sha1 = Sha1::from_hex(v).or_else(|| {
            bad.push("SHA1");
            None
        });
    }
    if let Some(v) = text("SHA256") {
        entry.sha256 = Sha256::from_hex(v).or_else(|| {
            bad.push("SHA256");
            None
        });
    }
    if !bad.is_empty() {
        set.problems.push(Problem {
            location,
            reason: format!("invalid digest in {}", bad.join(", ")),
        });
        return;
    }
    if entry.md5.is_none() && entry.sha1.is_none() && entry.sha256.is_none() {
        set.problems.push(Problem {
            location,
            reason: "Media record without MD5, SHA1 or SHA256".into(),
        });
        return;
    }
    entry.category = match get_ci(o, "Category") {
        Some(serde_json::Value::Number(n)) => Some(format!("CAT-{n}")),
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
            let s = s.trim();
            Some(if s.chars().all(|c| c.is_ascii_digit()) {
                format!("CAT-{s}")
            } else {
                s.to_string()
            })
        }
        _ => None,
    };
    entry.name = text("RelativeFilePath")
        .or_else(|| text("FileName"))
        .or_else(|| text("MediaID"))
        .map(str::to_string)
        .or_else(|| {
            get_ci(o, "MediaID")
                .filter(|v| v.is_number())
                .map(|v| format!("MediaID {v}"))
        });
    entry.size = get_ci(o, "MediaSize").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    set.entries.push(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_escapes() {
        assert_eq!(
            split_csv(r#""a,b","c""d",,e"#).unwrap(),
            vec!["a,b", "c\"d", "", "e"]
        );
        assert!(split_csv(r#""open"#).is_err());
    }

    #[test]
    fn bsd_and_plain_lines() {
        let set = parse_bytes(b"MD5 (foo.txt) = 7fa13061423e88e2fa4dc5746343ae96\n").unwrap();
        assert_eq!(set.format, Format::Bsd);
        assert_eq!(set.entries[0].name.as_deref(), Some("foo.txt"));
        let set =
            parse_bytes(b"# comment\nd41d8cd98f00b204e9800998ecf8427e\nnot a hash\n\n").unwrap();
        assert_eq!(set.format, Format::PlainList);
        assert_eq!(set.entries.len(), 1);
        assert_eq!(
            set.problems,
            vec![Problem {
                location: "line 3".into(),
                reason: "not a digest line: \"not a hash\"".into()
            }]
        );
    }

    #[test]
    fn text_without_digests_is_refused() {
        assert!(parse_bytes(b"hello\nworld\n").is_err());
    }
}
