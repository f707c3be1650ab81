//! Call detail records as CSV, read through a column mapping: bandicoot's layout
//! (`interaction,direction,correspondent_id,datetime,call_duration,antenna_id`, one file per
//! subscriber) is built in; an operator's own layout is described in a TOML mapping file
//! (`--cdr-mapping FILE`, same fields as [`Mapping`]). Two shapes of row: one subscriber's
//! view (`direction` and `party`: the file's subscriber is the other side), or an operator's
//! export with both parties on every row (`a_party`, the caller or sender, and `b_party`, the
//! called or recipient). A row that does not fit (too few columns, a bad time) is an error
//! with its line number; the other rows are kept.

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
    /// Column names. Without a kind column every row is a call.
    pub kind: Option<String>,
    /// One subscriber's view: the direction and the other party.
    pub direction: Option<String>,
    pub party: Option<String>,
    /// An operator's view: both parties (A calls or texts B).
    pub a_party: Option<String>,
    pub b_party: Option<String>,
    pub time: String,
    pub duration: Option<String>,
    pub cell: Option<String>,
    /// Values of the kind column that mean a call, and a text message.
    #[serde(default)]
    pub call_values: Vec<String>,
    #[serde(default)]
    pub text_values: Vec<String>,
    #[serde(default)]
    pub incoming_values: Vec<String>,
    #[serde(default)]
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
            kind: Some("interaction".into()),
            direction: Some("direction".into()),
            party: Some("correspondent_id".into()),
            a_party: None,
            b_party: None,
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
        let subscriber_view = m.direction.is_some() && m.party.is_some();
        let operator_view = m.a_party.is_some() && m.b_party.is_some();
        let any_view = m.direction.is_some()
            || m.party.is_some()
            || m.a_party.is_some()
            || m.b_party.is_some();
        if subscriber_view == operator_view
            || (operator_view && (m.direction.is_some() || m.party.is_some()))
            || !any_view
        {
            return Err(format!(
                "--cdr-mapping {}: name either `direction` and `party` (one subscriber's records) or `a_party` and `b_party` (an operator's, both parties per row)",
                path.display()
            ));
        }
        if m.kind.is_some() && m.call_values.is_empty() && m.text_values.is_empty() {
            return Err(format!(
                "--cdr-mapping {}: a `kind` column needs `call_values` or `text_values`",
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
        let required = self.required();
        // Every required column's name is in the header line, or it cannot fit: tested before
        // the CSV split, which is asked of every text file's first line.
        if !required.iter().all(|c| header.contains(c)) {
            return false;
        }
        let cols = split(header, self.delimiter);
        required.iter().all(|c| cols.iter().any(|h| h.trim() == *c))
    }

    /// bandicoot's layout, made once.
    pub fn bandicoot_ref() -> &'static Mapping {
        static BANDICOOT: std::sync::LazyLock<Mapping> =
            std::sync::LazyLock::new(Mapping::bandicoot);
        &BANDICOOT
    }

    /// The columns a file must have for this mapping.
    fn required(&self) -> Vec<&str> {
        [
            &self.kind,
            &self.direction,
            &self.party,
            &self.a_party,
            &self.b_party,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain([self.time.as_str()])
        .collect()
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
    if let Some(missing) = mapping.required().into_iter().find(|c| at(c).is_none()) {
        parsed.damage.push(format!(
            "line 1: the header lacks the column {missing:?} of the {} mapping",
            mapping.name
        ));
        return parsed;
    }
    let column = |c: &Option<String>| c.as_deref().and_then(at);
    let (ki, di, pi, ai, bi) = (
        column(&mapping.kind),
        column(&mapping.direction),
        column(&mapping.party),
        column(&mapping.a_party),
        column(&mapping.b_party),
    );
    let Some(ti) = at(&mapping.time) else {
        return parsed;
    };
    let dur = mapping.duration.as_deref().and_then(at);
    let cell = mapping.cell.as_deref().and_then(at);
    // One file per subscriber (bandicoot): the file's name is the subscriber, unless --owner.
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // An operator's export names both parties on each row: there is no subscriber to add.
    let owner: Vec<Participant> = if ai.is_some() {
        Vec::new()
    } else if options.owners.is_empty() {
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
        let kind_raw = ki.map_or("", |i| f[i].trim());
        let kind = if ki.is_none() || mapping.call_values.iter().any(|v| v == kind_raw) {
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
        let (direction, participants, thread) = match (ai, bi, di, pi) {
            (Some(a), Some(b), _, _) => {
                let (a_raw, b_raw) = (f[a].trim(), f[b].trim());
                let participants = vec![
                    super::counterpart(a_raw, true, identifiers::PHONE_FIELD, region, None),
                    super::counterpart(b_raw, false, identifiers::PHONE_FIELD, region, None),
                ];
                // Seen by the operator, neither party's device: no direction of its own.
                ("unknown", participants, format!("{a_raw} -> {b_raw}"))
            }
            (_, _, Some(di), Some(pi)) => {
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
                (direction, participants, party_raw)
            }
            _ => {
                // Mapping::load refuses a mapping with neither view; one built in code might.
                parsed.damage.push(format!(
                    "the {} mapping names neither direction and party nor a_party and b_party",
                    mapping.name
                ));
                break;
            }
        };
        parsed.records.push(CommRecord {
            kind,
            format: FORMAT,
            locator: json!({"line": number, "byte": byte}),
            time: t,
            direction,
            participants,
            body: None,
            thread: Some(thread),
            extra: json!({
                "mapping": mapping.name,
                "duration_s": dur.and_then(|i| f[i].trim().parse::<i64>().ok()),
                "cell": cell.map(|i| f[i].trim().to_string()).filter(|c| !c.is_empty()),
            }),
        });
    }
    parsed.summary = match owner.first() {
        Some(subscriber) => json!({"mapping": mapping.name, "subscriber": subscriber.identifier}),
        None => json!({"mapping": mapping.name, "parties": "both per row (operator export)"}),
    };
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
