//! Call detail records as CSV, read through a column mapping: bandicoot's layout
//! (`interaction,direction,correspondent_id,datetime,call_duration,antenna_id`, one file per
//! subscriber) is built in; an operator's own layout is described in a TOML mapping file
//! (`--cdr-mapping FILE`, same fields as [`Mapping`]). A row that does not fit (too few
//! columns, a bad time) is an error with its line number; the other rows are kept.

use serde::Deserialize;
use serde_json::json;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const FORMAT: &str = "cdr-csv";

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A name for the layout, written on every record.
    pub name: String,
    pub delimiter: char,
    /// Column names.
    pub kind: String,
    pub direction: String,
    pub party: String,
    pub time: String,
    pub duration: Option<String>,
    pub cell: Option<String>,
    /// Values of the kind column that mean a call, and a text message.
    pub call_values: Vec<String>,
    pub text_values: Vec<String>,
    pub incoming_values: Vec<String>,
    pub outgoing_values: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS` (or with `T`), or `epoch` (seconds).
    pub time_format: String,
    /// `unknown` (local time, zone not known), `UTC`, or a fixed offset such as `+01:00`.
    pub zone: String,
}

impl Mapping {
    pub fn bandicoot() -> Mapping {
        Mapping {
            name: "bandicoot".into(),
            delimiter: ',',
            kind: "interaction".into(),
            direction: "direction".into(),
            party: "correspondent_id".into(),
            time: "datetime".into(),
            duration: Some("call_duration".into()),
            cell: Some("antenna_id".into()),
            call_values: vec!["call".into()],
            text_values: vec!["text".into(), "sms".into()],
            incoming_values: vec!["in".into()],
            outgoing_values: vec!["out".into()],
            time_format: "YYYY-MM-DD HH:MM:SS".into(),
            zone: "unknown".into(),
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Mapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--cdr-mapping {}: {e}", path.display()))?;
        let m: Mapping =
            toml::from_str(&text).map_err(|e| format!("--cdr-mapping {}: {e}", path.display()))?;
        if !matches!(m.time_format.as_str(), "YYYY-MM-DD HH:MM:SS" | "epoch") {
            return Err(format!(
                "--cdr-mapping {}: time_format must be \"YYYY-MM-DD HH:MM:SS\" or \"epoch\"",
                path.display()
            ));
        }
        if m.zone != "unknown" && m.zone != "UTC" && parse_offset(&m.zone).is_none() {
            return Err(format!(
                "--cdr-mapping {}: zone must be unknown, UTC or an offset like +01:00",
                path.display()
            ));
        }
        Ok(m)
    }

    /// Whether a header line has the columns this mapping needs.
    pub fn fits(&self, header: &str) -> bool {
        let cols = split(header, self.delimiter);
        [&self.kind, &self.direction, &self.party, &self.time]
            .iter()
            .all(|c| cols.iter().any(|h| h.trim() == c.as_str()))
    }
}

fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

/// One CSV record: its fields, its first line (1-based) and its byte offset.
type CsvRow = (Vec<String>, u64, u64);

/// The records of a CSV text with the given delimiter, each with its first line (1-based) and
/// byte offset. Quoting as RFC 4180: a quoted field may hold the delimiter, `""` and newlines.
fn csv_records(text: &str, delimiter: char) -> Vec<Result<CsvRow, String>> {
    let Ok(delimiter) = u8::try_from(delimiter) else {
        return vec![Err(format!("delimiter {delimiter:?} is not one byte"))];
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let (line, byte) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
                out.push(Ok((
                    record.iter().map(str::to_string).collect(),
                    line,
                    byte,
                )));
            }
            Err(e) => {
                out.push(Err(e.to_string()));
                break;
            }
        }
    }
    out
}

/// One line of CSV into fields (a header).
fn split(line: &str, delimiter: char) -> Vec<String> {
    match csv_records(line, delimiter).into_iter().next() {
        Some(Ok((fields, _, _))) => fields,
        _ => Vec::new(),
    }
}

fn rfc3339(secs: i64) -> String {
    super::utc_of_millis(secs * 1000)
}

fn time(raw: &str, m: &Mapping) -> Option<RecordTime> {
    let raw = raw.trim();
    if m.time_format == "epoch" {
        let secs: i64 = raw.parse().ok()?;
        return Some(RecordTime {
            utc: Some(rfc3339(secs)),
            zone_known: true,
            ..Default::default()
        });
    }
    let wall = super::civil_seconds(raw)?;
    let local = rfc3339(wall).trim_end_matches('Z').to_string();
    Some(match m.zone.as_str() {
        "unknown" => RecordTime {
            local: Some(local),
            assumption: Some(format!(
                "{} layout: the operator's local time, zone unknown",
                m.name
            )),
            ..Default::default()
        },
        "UTC" => RecordTime {
            utc: Some(rfc3339(wall)),
            local: Some(local),
            offset: Some("+00:00".into()),
            zone_known: true,
            assumption: None,
        },
        offset => RecordTime {
            utc: Some(rfc3339(wall - parse_offset(offset)?)),
            local: Some(local),
            offset: Some(offset.to_string()),
            zone_known: true,
            assumption: Some(format!(
                "offset {offset} from the mapping file, not from the data"
            )),
        },
    })
}

// Long (~130 lines) on purpose: one pass over the CSV records in file order, each column of
// the mapping read where it is; split up, the dozen per-row values would travel as arguments.
pub fn parse(content: &[u8], name: &str, mapping: &Mapping, options: &CommsOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let text = String::from_utf8_lossy(content);
    let region = options.region.as_deref();
    let without_bom = text.trim_start_matches('\u{feff}');
    let bom = (text.len() - without_bom.len()) as u64;
    let text = without_bom;
    let mut rows = csv_records(text, mapping.delimiter).into_iter();
    let cols: Vec<String> = match rows.next() {
        None => return parsed,
        Some(Err(e)) => {
            parsed.damage.push(format!("line 1: {e}"));
            return parsed;
        }
        Some(Ok((header, _, _))) => header.into_iter().map(|c| c.trim().to_string()).collect(),
    };
    let at = |c: &str| cols.iter().position(|h| h == c);
    let (Some(ki), Some(di), Some(pi), Some(ti)) = (
        at(&mapping.kind),
        at(&mapping.direction),
        at(&mapping.party),
        at(&mapping.time),
    ) else {
        parsed.damage.push(format!(
            "line 1: the header lacks a column of the {} mapping",
            mapping.name
        ));
        return parsed;
    };
    let dur = mapping.duration.as_deref().and_then(at);
    let cell = mapping.cell.as_deref().and_then(at);
    // One file per subscriber (bandicoot): the file's name is the subscriber, unless --owner.
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let owner: Vec<Participant> = if options.owners.is_empty() {
        vec![Participant {
            role: "owner",
            // The subscriber goes through the same normalisation as every party, so the
            // same number as another file's correspondent is the same identifier.
            identifier: identifiers::identify(&stem, identifiers::PHONE_FIELD, region),
            raw: stem.clone(),
            name: None,
        }]
    } else {
        options
            .owners
            .iter()
            .map(|o| Participant {
                role: "owner",
                identifier: identifiers::identify(o, identifiers::PHONE_FIELD, region),
                raw: o.clone(),
                name: None,
            })
            .collect()
    };
    for row in rows {
        let (f, number, byte) = match row {
            Ok(row) => row,
            Err(e) => {
                // The reader stops at a record it cannot read; what came before is kept.
                parsed
                    .damage
                    .push(format!("{e}; the rows after it are not read"));
                break;
            }
        };
        let byte = byte + bom;
        if f.len() == 1 && f[0].trim().is_empty() {
            continue;
        }
        if f.len() != cols.len() {
            parsed.damage.push(format!(
                "line {number}: {} columns where the header has {}; row skipped",
                f.len(),
                cols.len()
            ));
            continue;
        }
        let kind_raw = f[ki].trim();
        let kind = if mapping.call_values.iter().any(|v| v == kind_raw) {
            RecordKind::Call
        } else if mapping.text_values.iter().any(|v| v == kind_raw) {
            RecordKind::Message
        } else {
            parsed.damage.push(format!("line {number}: interaction {kind_raw:?} is neither a call nor a text in the {} mapping", mapping.name));
            continue;
        };
        let Some(t) = time(&f[ti], mapping) else {
            parsed.damage.push(format!(
                "line {number}: time {:?} does not fit {}",
                f[ti], mapping.time_format
            ));
            continue;
        };
        let d = f[di].trim();
        let direction = if mapping.incoming_values.iter().any(|v| v == d) {
            "incoming"
        } else if mapping.outgoing_values.iter().any(|v| v == d) {
            "outgoing"
        } else {
            "unknown"
        };
        let party_raw = f[pi].trim().to_string();
        let mut participants = vec![super::counterpart(
            &party_raw,
            direction != "outgoing",
            identifiers::PHONE_FIELD,
            region,
            None,
        )];
        participants.extend(owner.iter().cloned());
        parsed.records.push(CommRecord {
            kind,
            format: FORMAT,
            locator: json!({"line": number, "byte": byte}),
            time: t,
            direction,
            participants,
            body: None,
            thread: Some(party_raw),
            extra: json!({
                "mapping": mapping.name,
                "duration_s": dur.and_then(|i| f[i].trim().parse::<i64>().ok()),
                "cell": cell.map(|i| f[i].trim().to_string()).filter(|c| !c.is_empty()),
            }),
        });
    }
    parsed.summary = json!({"mapping": mapping.name, "subscriber": owner[0].identifier});
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_fixed_offsets() {
        assert_eq!(
            split("a,\"b, c\",\"d \"\"e\"\"\"", ','),
            ["a", "b, c", "d \"e\""]
        );
        // A quoted field may hold a newline: one record, located at its first line.
        let rows = csv_records("h1;h2\n\"two\nlines\";x\nlast;y\n", ';');
        let rows: Vec<_> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            rows[1],
            (vec!["two\nlines".to_string(), "x".to_string()], 2, 6)
        );
        assert_eq!(rows[2].1, 4);
        let m = Mapping {
            zone: "+02:00".into(),
            ..Mapping::bandicoot()
        };
        let t = time("2014-08-20 20:30:37", &m).unwrap();
        assert_eq!(t.utc.as_deref(), Some("2014-08-20T18:30:37Z"));
        assert!(time("2014-13-20 20:30:37", &m).is_none());
        assert!(time("2014-02-29 20:30:37", &m).is_none());
        assert!(time("2016-02-29 20:30:37", &m).is_some());
    }
}
