//! WhatsApp "Export chat" text files, Android (`24/12/19, 11:23 - Name: text`) and iOS
//! (`[24/12/19 11:23:05] Name: text`) layouts, with every date order and clock seen in the
//! fixtures: day or month first or year first, `/`, `.` or `-` between, two- or four-digit years,
//! 24 h and 12 h clocks (`PM`, `p.m.`, `p. m.`, with normal, no-break or narrow spaces).
//! A line that does not start a message continues the one before (multi-line messages).
//!
//! The export says neither the zone nor the date order: the order is inferred from the whole
//! file (a day above 12 settles it), and each record says what was assumed.

use regex::Regex;
use serde_json::json;
use std::sync::OnceLock;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const FORMAT: &str = "whatsapp-txt";

fn header() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^[\u{200e}\u{200f}]?\[?(\d{1,4})[./-](\d{1,2})[./-](\d{1,4}),?[ \u{a0}\u{202f}]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\.?(?:[ \u{a0}\u{202f}]*([aApP])\.?[ \u{a0}\u{202f}]?[mM]\.?)?\]?[ \u{a0}\u{202f}]*(?:-[ \u{a0}\u{202f}])?(.*)$",
        )
        .expect("the header pattern compiles")
    })
}

/// The chat apps whose text exports share this line layout.
pub struct App {
    pub format: &'static str,
    /// Namespace of a display name (`whatsapp-name:Bob`).
    pub names: &'static str,
    pub clock: &'static str,
}

pub const WHATSAPP: App = App {
    format: FORMAT,
    names: "whatsapp-name",
    clock: "local time of the exporting phone, zone unknown",
};

/// Signal Desktop conversations as the export tools write them (`[2019-12-24, 12:23] Name:
/// text`, the layout of chat-miner's Signal fixture; signal-export's markdown is the same with
/// seconds and without the comma). Signal's own store is an encrypted database; these text
/// exports are what an investigator is handed.
pub const SIGNAL: App = App {
    format: "signal-txt",
    names: "signal-name",
    clock: "local time of the exporting computer, zone unknown",
};

/// The headers in the sample (the file's first few KB), when its first non-empty line is one
/// and so is at least one more, wherever it is: a message's continuation lines come between
/// headers, and a first message can be a long list (a shopping list of ten lines hid a whole
/// export before, issue 11.3). One dated line alone is too little to call a file a chat.
fn first_headers(text: &str) -> Option<Vec<Header<'_>>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = parse_header(lines.next()?).filter(|h| !h.rest.is_empty())?;
    let mut only_line = true;
    let mut headers = vec![first];
    for line in lines {
        only_line = false;
        if let Some(h) = parse_header(line).filter(|h| !h.rest.is_empty()) {
            headers.push(h);
        }
    }
    (headers.len() >= 2 || only_line).then_some(headers)
}

/// Whether the text starts like a WhatsApp export: its first non-empty lines are headers.
pub fn recognise(text: &str) -> bool {
    first_headers(text).is_some()
}

/// Signal's layout: bracketed, year first with `-`, and either no seconds (WhatsApp's bracketed
/// iOS layout always has them) or no comma after the date (WhatsApp always writes one).
pub fn recognise_signal(text: &str) -> bool {
    first_headers(text).is_some_and(|hs| {
        hs.iter()
            .all(|h| h.bracketed && h.parts[0] >= 1000 && h.dashes && (!h.seconds || !h.comma))
    })
}

/// The date order of a file, from all its header dates.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    DayMonthYear,
    MonthDayYear,
    YearMonthDay,
}

struct Header<'a> {
    bracketed: bool,
    dashes: bool,
    comma: bool,
    seconds: bool,
    parts: [u32; 3],
    hour: u32,
    minute: u32,
    second: u32,
    meridiem: Option<char>,
    rest: &'a str,
}

fn parse_header(line: &str) -> Option<Header<'_>> {
    let c = header().captures(line)?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let whole = c.get(0).map_or("", |m| m.as_str());
    let date_end = c.get(3).map_or(0, |m| m.end());
    Some(Header {
        bracketed: whole
            .trim_start_matches(['\u{200e}', '\u{200f}'])
            .starts_with('['),
        dashes: whole[..date_end].contains('-'),
        comma: whole[date_end..].starts_with(','),
        seconds: c.get(6).is_some(),
        parts: [n(1)?, n(2)?, n(3)?],
        hour: n(4)?,
        minute: n(5)?,
        second: n(6).unwrap_or(0),
        meridiem: c
            .get(7)
            .and_then(|m| m.as_str().chars().next())
            .map(|m| m.to_ascii_lowercase()),
        rest: c.get(8).map_or("", |m| m.as_str()),
    })
}

/// The order that fits every date, and whether the data settled it or it was assumed.
fn infer_order(dates: &[[u32; 3]]) -> (Order, Option<&'static str>) {
    if dates.iter().any(|d| d[0] > 31) {
        return (Order::YearMonthDay, None);
    }
    let first_over_12 = dates.iter().any(|d| d[0] > 12);
    let second_over_12 = dates.iter().any(|d| d[1] > 12);
    match (first_over_12, second_over_12) {
        (true, _) => (Order::DayMonthYear, None),
        (false, true) => (Order::MonthDayYear, None),
        (false, false) => (
            Order::DayMonthYear,
            Some("date order ambiguous (no day above 12 in the file): read as day/month/year"),
        ),
    }
}

fn local_time(h: &Header, order: Order) -> Option<String> {
    let [a, b, c] = h.parts;
    let (y, m, d) = match order {
        Order::DayMonthYear => (c, b, a),
        Order::MonthDayYear => (c, a, b),
        Order::YearMonthDay => (a, b, c),
    };
    let y = if y < 100 { 2000 + y } else { y };
    let mut hour = h.hour;
    match h.meridiem {
        Some('p') if hour < 12 => hour += 12,
        Some('a') if hour == 12 => hour = 0,
        _ => {}
    }
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    (d >= 1 && d <= days_in_month && hour < 24 && h.minute < 60 && h.second < 60).then(|| {
        format!(
            "{y:04}-{m:02}-{d:02}T{hour:02}:{:02}:{:02}",
            h.minute, h.second
        )
    })
}

/// Attachment names and media placeholders, as the exports write them.
fn attachment(body: &str) -> Option<serde_json::Value> {
    let b = body.trim_start_matches('\u{200e}');
    if let Some(name) = b
        .strip_prefix("<attached: ")
        .and_then(|s| s.strip_suffix('>'))
    {
        return Some(json!({"file": name}));
    }
    if let Some(name) = b.strip_suffix(" (file attached)") {
        return Some(json!({"file": name}));
    }
    if b == "<Media omitted>" || b.ends_with(" omitted") && b.len() < 40 {
        return Some(json!({"omitted": b}));
    }
    None
}

pub fn parse(content: &[u8], name: &str, options: &CommsOptions) -> Parsed {
    parse_app(content, name, options, &WHATSAPP)
}

// Long (~136 lines) on purpose: one pass over the lines of a chat export, continuation lines
// joined to the message before them; the pass's state (open message, clock, counts) is local.
pub fn parse_app(content: &[u8], name: &str, options: &CommsOptions, app: &App) -> Parsed {
    let mut parsed = Parsed::default();
    let text = match std::str::from_utf8(content) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) => {
            parsed.damage.push(format!(
                "byte {}: not UTF-8; invalid bytes replaced by U+FFFD (byte offsets after it count the replacements)",
                e.valid_up_to()
            ));
            String::from_utf8_lossy(content)
        }
    };
    let text = text.trim_start_matches('\u{feff}');
    // Lines with their 1-based number and byte offset.
    let mut lines = Vec::new();
    // Only a byte-order mark is skipped before the first line. (Not `content.len() -
    // text.len()`: with invalid bytes replaced the text is longer than the file, and that
    // subtraction overflowed — found by scripts/fuzz.sh, mutant 2 of seed 11.)
    let mut offset = if content.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        lines.push((i + 1, offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    let dates: Vec<[u32; 3]> = lines
        .iter()
        .filter_map(|(_, _, l)| parse_header(l).map(|h| h.parts))
        .collect();
    let (order, assumed) = infer_order(&dates);
    let clock = lines
        .iter()
        .any(|(_, _, l)| parse_header(l).is_some_and(|h| h.meridiem.is_some()));
    let thread = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let region = options.region.as_deref();
    let owners: Vec<String> = options
        .owners
        .iter()
        .map(|o| identifiers::identify(o, app.names, region))
        .collect();
    let assumption = {
        let mut a = vec![app.clock];
        a.extend(assumed);
        a.join("; ")
    };
    let mut current: Option<CommRecord> = None;
    for (number, byte, line) in &lines {
        let header = parse_header(line);
        let Some(h) = header else {
            match current.as_mut() {
                Some(r) => {
                    let body = r.body.get_or_insert_with(String::new);
                    body.push('\n');
                    body.push_str(line);
                }
                None if !line.trim().is_empty() => parsed.damage.push(format!(
                    "line {number}: text before the first message: {line:?}"
                )),
                None => {}
            }
            continue;
        };
        parsed.records.extend(current.take());
        let Some(local) = local_time(&h, order) else {
            parsed
                .damage
                .push(format!("line {number}: not a valid date or time: {line:?}"));
            continue;
        };
        // `Name: text` (the name may be a phone number); else a system message.
        let (author, body) = match h.rest.split_once(':') {
            Some((a, b)) if !a.contains('"') && !a.is_empty() && a.len() <= 80 => {
                (Some(a.trim()), b.strip_prefix(' ').unwrap_or(b))
            }
            _ => (None, h.rest),
        };
        let mut participants = Vec::new();
        let mut direction = "system";
        if let Some(a) = author {
            let id = identifiers::identify(a, app.names, region);
            direction = if owners.is_empty() {
                "unknown"
            } else if owners.contains(&id) {
                "outgoing"
            } else {
                "incoming"
            };
            participants.push(Participant {
                role: "from",
                identifier: id,
                raw: a.to_string(),
                name: (!a.starts_with('+')).then(|| a.to_string()),
            });
        }
        current = Some(CommRecord {
            kind: RecordKind::Message,
            format: app.format,
            locator: json!({"line": number, "byte": byte}),
            time: RecordTime {
                utc: None,
                local: Some(local),
                offset: None,
                zone_known: false,
                assumption: Some(assumption.clone()),
            },
            direction,
            participants,
            body: Some(body.to_string()),
            thread: thread.clone(),
            extra: json!({}),
        });
    }
    parsed.records.extend(current);
    for r in &mut parsed.records {
        // Blank lines after a message belong to the layout, not to the message.
        if let Some(body) = r.body.as_mut() {
            body.truncate(body.trim_end_matches(['\n', '\r']).len());
        }
        let extra = json!({
            "system": r.participants.is_empty(),
            "attachment": r.body.as_deref().and_then(attachment),
        });
        r.extra = extra;
    }
    parsed.summary = json!({
        "date_order": format!("{order:?}"),
        "date_order_assumed": assumed.is_some(),
        "twelve_hour_clock": clock,
        "chat": thread,
    });
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locals(text: &str) -> Vec<(String, Option<String>, String)> {
        parse(
            text.as_bytes(),
            "WhatsApp Chat with X.txt",
            &CommsOptions::default(),
        )
        .records
        .into_iter()
        .map(|r| {
            (
                r.time.local.unwrap(),
                r.participants.first().map(|p| p.raw.clone()),
                r.body.unwrap(),
            )
        })
        .collect()
    }

    #[test]
    fn twelve_hour_clocks_in_every_spelling() {
        let got = locals(
            "9/24/2019 11:30 p.m. - A: x\n11/27/2019 9:30 p. m. - A: y\n12/24/2019 12:05 a.m. - A: z\n1/2/2020 12:05\u{202f}PM - A: w\n",
        );
        let times: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            times,
            [
                "2019-09-24T23:30:00",
                "2019-11-27T21:30:00",
                "2019-12-24T00:05:00",
                "2020-01-02T12:05:00"
            ]
        );
    }

    #[test]
    fn an_ambiguous_date_order_is_said_on_every_record() {
        let p = parse(
            b"01/02/20, 10:00 - A: x\n",
            "c.txt",
            &CommsOptions::default(),
        );
        assert_eq!(
            p.records[0].time.local.as_deref(),
            Some("2020-02-01T10:00:00")
        );
        assert!(
            p.records[0]
                .time
                .assumption
                .as_deref()
                .unwrap()
                .contains("ambiguous")
        );
        assert!(!p.records[0].time.zone_known);
    }

    #[test]
    fn the_owner_makes_directions_and_attachments_are_named() {
        let options = CommsOptions {
            region: Some("NL".into()),
            owners: vec!["06 1234 5678".into()],
            ..Default::default()
        };
        let p = parse(
            "24/12/19, 11:23 - +31 6 12345678: IMG-20191224-WA0001.jpg (file attached)\n24/12/19, 11:24 - Bob: ok\n".as_bytes(),
            "c.txt",
            &options,
        );
        assert_eq!(p.records[0].direction, "outgoing");
        assert_eq!(p.records[0].participants[0].identifier, "tel:+31612345678");
        assert_eq!(
            p.records[0].extra["attachment"]["file"],
            "IMG-20191224-WA0001.jpg"
        );
        assert_eq!(p.records[1].direction, "incoming");
        assert_eq!(p.records[1].participants[0].identifier, "whatsapp-name:Bob");
    }
}
