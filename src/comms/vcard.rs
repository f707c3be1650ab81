//! vCard (`.vcf`) contacts, versions 2.1, 3.0 and 4.0: one `contact` record per card, with
//! its name and every phone number and e-mail address as identifiers. Folded lines are
//! unfolded; quoted-printable values (2.1) are decoded.

use serde_json::json;

use super::{CommRecord, CommsOptions, Parsed, Participant, RecordKind, RecordTime, identifiers};

pub const FORMAT: &str = "vcard";

pub fn recognise(text: &str) -> bool {
    text.trim_start()
        .to_ascii_uppercase()
        .starts_with("BEGIN:VCARD")
}

fn quoted_printable(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// vCard's escapes: `\,` `\;` `\n` `\\`.
fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
}

pub fn parse(content: &[u8], options: &CommsOptions) -> Parsed {
    let mut parsed = Parsed::default();
    let text = String::from_utf8_lossy(content);
    let region = options.region.as_deref();
    // Unfold: a line starting with a space or tab continues the one before; a quoted-printable
    // line ending in `=` continues on the next.
    let mut lines: Vec<(usize, usize, String)> = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\r', '\n']);
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.2.push_str(&line[1..]),
            Some(last)
                if last.2.ends_with('=')
                    && last.2.to_ascii_uppercase().contains("QUOTED-PRINTABLE") =>
            {
                last.2.pop();
                last.2.push_str(line);
            }
            _ => lines.push((n + 1, offset, line.to_string())),
        }
        offset += raw.len();
    }
    // (line, byte offset, properties as (name, parameters, value)) of the card being read.
    type Card = (usize, usize, Vec<(String, String, String)>);
    let mut card: Option<Card> = None;
    let mut index = 0;
    for (number, byte, line) in lines {
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VCARD" {
            if card.is_some() {
                parsed.damage.push(format!(
                    "line {number}: a card begins inside another; the first is cut short"
                ));
            }
            card = Some((number, byte, Vec::new()));
            continue;
        }
        if upper == "END:VCARD" {
            if let Some((line_no, at, props)) = card.take() {
                index += 1;
                parsed
                    .records
                    .push(contact(line_no, at, index, &props, region));
            } else {
                parsed
                    .damage
                    .push(format!("line {number}: END:VCARD without BEGIN"));
            }
            continue;
        }
        let Some((_, _, props)) = card.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut parts = key.split(';');
        let name = parts
            .next()
            .unwrap_or("")
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let params: Vec<String> = parts.map(|p| p.to_ascii_uppercase()).collect();
        let value = if params.iter().any(|p| p.contains("QUOTED-PRINTABLE")) {
            quoted_printable(value)
        } else {
            value.to_string()
        };
        props.push((name, params.join(";"), value));
    }
    if let Some((line_no, at, props)) = card.take() {
        index += 1;
        parsed
            .records
            .push(contact(line_no, at, index, &props, region));
        parsed.damage.push(format!(
            "line {line_no}: the last card has no END:VCARD; kept"
        ));
    }
    parsed.summary = json!({"cards": index});
    parsed
}

fn contact(
    line: usize,
    byte: usize,
    index: usize,
    props: &[(String, String, String)],
    region: Option<&str>,
) -> CommRecord {
    let get = |k: &str| props.iter().find(|p| p.0 == k).map(|p| unescape(&p.2));
    let name = get("FN").or_else(|| {
        get("N").map(|n| {
            let parts: Vec<&str> = n.split(';').collect();
            let given = parts.get(1).copied().unwrap_or("");
            let family = parts.first().copied().unwrap_or("");
            format!("{given} {family}").trim().to_string()
        })
    });
    let mut participants = Vec::new();
    for (key, params, value) in props {
        let raw = unescape(value);
        let raw = raw.trim().trim_start_matches("tel:").to_string();
        let identifier = match key.as_str() {
            "TEL" => identifiers::identify(&raw, identifiers::PHONE_FIELD, region),
            "EMAIL" => identifiers::email(&raw).unwrap_or_else(|| format!("email-raw:{raw}")),
            "IMPP" | "X-JABBER" | "X-SKYPE" | "X-TELEGRAM" | "X-WHATSAPP" => {
                format!("{}:{raw}", key.to_ascii_lowercase())
            }
            _ => continue,
        };
        participants.push(Participant {
            role: "party",
            identifier,
            raw: format!("{key};{params}:{raw}")
                .trim_matches(';')
                .to_string(),
            name: name.clone(),
        });
    }
    CommRecord {
        kind: RecordKind::Contact,
        format: FORMAT,
        locator: json!({"line": line, "byte": byte, "card": index}),
        time: RecordTime {
            utc: None,
            local: None,
            offset: None,
            zone_known: false,
            assumption: Some("a contact has no time of its own".into()),
        },
        direction: "unknown",
        participants,
        body: None,
        thread: None,
        extra: json!({
            "name": name, "organisation": get("ORG"), "title": get("TITLE"), "note": get("NOTE"),
            "birthday": get("BDAY"), "address": get("ADR"), "revision": get("REV"), "version": get("VERSION"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_of_every_version_become_contacts_with_their_identifiers() {
        let vcf = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan Jansen\r\nN:Jansen;Jan;;;\r\nTEL;TYPE=CELL:06-12345678\r\n\
                   EMAIL;TYPE=INTERNET:Jan@Example.NL\r\nNOTE:line one\\nline two with a long\r\n  tail\r\nEND:VCARD\r\n\
                   BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=89lise;Marie;;;\r\n\
                   TEL;CELL:+33 6 12 34 56 78\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Cut short\r\n";
        let options = CommsOptions {
            region: Some("NL".into()),
            ..Default::default()
        };
        let p = parse(vcf.as_bytes(), &options);
        assert_eq!(p.records.len(), 3);
        let ids: Vec<&str> = p.records[0]
            .participants
            .iter()
            .map(|p| p.identifier.as_str())
            .collect();
        assert_eq!(ids, ["tel:+31612345678", "email:jan@example.nl"]);
        assert_eq!(
            p.records[0].extra["note"],
            "line one\nline two with a long tail"
        );
        assert_eq!(p.records[1].extra["name"], "Marie Élise");
        assert_eq!(p.records[1].participants[0].identifier, "tel:+33612345678");
        assert_eq!(p.damage.len(), 1, "{:?}", p.damage);
    }
}
