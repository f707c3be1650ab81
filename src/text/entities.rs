//! Entities in free text (message bodies, OCR text, documents): phone numbers, e-mail
//! addresses, URLs and domains, IPv4/IPv6, IBAN, BIC, bitcoin and ethereum addresses and payment
//! card numbers, each with its byte offset and a window of context. Wherever a checksum or a
//! registry exists it is checked, so that a number that merely looks right is not reported:
//! IBAN mod-97 and per-country length, base58check and bech32/bech32m, EIP-55 for mixed-case
//! ethereum addresses, Luhn plus issuer ranges for cards, libphonenumber's validity for phone
//! numbers. A span claimed by one entity is not reported again as another (a card number is not
//! also a phone number).

use serde::Serialize;
use sha2::Digest;
use std::sync::OnceLock;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entity {
    /// `phone`, `email`, `url`, `domain`, `ipv4`, `ipv6`, `iban`, `bic`, `bitcoin`,
    /// `ethereum`, `card`.
    pub kind: &'static str,
    /// Normalised: E.164, lower-cased address, IBAN without spaces, digits of a card …
    pub value: String,
    /// Byte offsets in the text; `raw` gives it as written (for a domain, the URL it is in).
    pub start: usize,
    pub end: usize,
    /// What was checked (`mod-97`, `base58check`, `luhn+visa`, …).
    pub check: &'static str,
}

impl Entity {
    /// The entity as written in `text`, the text it was found in. Not stored: a string per
    /// entity cost an allocation for each of the millions a large case holds.
    pub fn raw<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

const CONTEXT: usize = 40;

/// Up to `CONTEXT` bytes of text on each side of an entity, cut at character boundaries.
pub fn context(text: &str, e: &Entity) -> String {
    let mut a = e.start.saturating_sub(CONTEXT);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (e.end + CONTEXT).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    text[a..b].replace(['\n', '\r', '\t'], " ")
}

/// The entity patterns, in priority order: where two could start at the same place the earlier
/// kind is tried first (a URL holds a domain and maybe an address; a card number is not also a
/// phone number).
///
/// Word boundaries are ASCII (`(?-u:\b)`) and digits are `[0-9]`: with Unicode `\b` the lazy
/// DFA gives up at the first non-ASCII byte (every emoji or accented name in a chat) and the
/// slow PikeVM takes over. Every entity here is ASCII; a letter such as `é` right before one now
/// counts as a boundary.
const KINDS: [(&str, &str); 11] = [
    ("url", r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'`]+"#),
    (
        "email",
        r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
    ),
    ("bech32", r"(?i)\bbc1[ac-hj-np-z02-9]{11,71}\b"),
    ("btc58", r"\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b"),
    ("eth", r"\b0x[0-9a-fA-F]{40}\b"),
    (
        "iban",
        r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
    ),
    ("bic", r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b"),
    ("card", r"\b\d(?:[ -]?\d){12,18}\b"),
    ("ipv4", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    ("ipv6", r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}"),
    // Starts at `+`, `(` or a word boundary: a number does not start inside a run of digits
    // or glued to letters, and a candidate at every digit of a long run cost a search each.
    ("phone", r"(?:\+|\(|\b)\d[\d ().-]{5,17}\d\b"),
];

/// Whether a kind's pattern can start with this byte: the later kinds are tried at a failed
/// candidate's place only where they could match there.
fn can_start(kind: usize, b: u8) -> bool {
    match KINDS[kind].0 {
        "url" => matches!(b.to_ascii_lowercase(), b'h' | b'f' | b'w'),
        "email" => b.is_ascii_alphanumeric(),
        "bech32" => matches!(b, b'b' | b'B'),
        "btc58" => matches!(b, b'1' | b'3'),
        "eth" => b == b'0',
        "iban" | "bic" => b.is_ascii_uppercase(),
        "card" | "ipv4" => b.is_ascii_digit(),
        "ipv6" => b.is_ascii_hexdigit() || b == b':',
        _ => b.is_ascii_digit() || b == b'+' || b == b'(',
    }
}

/// All kinds in one automaton, and each kind alone for the anchored second tries.
///
/// Why one automaton: eleven `find_iter` passes over the same text cost eleven DFA walks. On
/// 50 MB of the generated corpus, one thread: 1.47 s for the eleven passes, 0.42 s for one
/// multi-pattern pass that reports which kind matched (`regex_automata::meta`, what `regex` is
/// built on). A candidate that fails its check does not hide the others: the later kinds are
/// tried anchored at the same place, and the scan then goes on one character further.
struct Scanner {
    all: regex_automata::meta::Regex,
    each: Vec<regex_automata::meta::Regex>,
}

/// A thread's search caches for the scanner: given explicitly, a search skips the regex's
/// shared cache pool, which threads other than the one that built it reach through a lock.
struct Caches {
    all: regex_automata::meta::Cache,
    each: Vec<regex_automata::meta::Cache>,
}

thread_local! {
    static CACHES: std::cell::RefCell<Option<Caches>> = const { std::cell::RefCell::new(None) };
}

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| {
        let patterns: Vec<String> = KINDS
            .iter()
            .map(|(_, p)| p.replace(r"\d", "[0-9]").replace(r"\b", r"(?-u:\b)"))
            .collect();
        let compile = |ps: &[String]| {
            regex_automata::meta::Regex::new_many(ps).expect("entity patterns compile")
        };
        Scanner {
            all: compile(&patterns),
            each: patterns
                .iter()
                .map(|p| compile(std::slice::from_ref(p)))
                .collect(),
        }
    })
}

/// IBAN lengths by country (SWIFT's IBAN registry).
fn iban_length(cc: &str) -> Option<usize> {
    Some(match cc {
        "AD" => 24,
        "AE" => 23,
        "AL" => 28,
        "AT" => 20,
        "AZ" => 28,
        "BA" => 20,
        "BE" => 16,
        "BG" => 22,
        "BH" => 22,
        "BR" => 29,
        "BY" => 28,
        "CH" => 21,
        "CR" => 22,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "DO" => 28,
        "EE" => 20,
        "EG" => 29,
        "ES" => 24,
        "FI" => 18,
        "FO" => 18,
        "FR" => 27,
        "GB" => 22,
        "GE" => 22,
        "GI" => 23,
        "GL" => 18,
        "GR" => 27,
        "GT" => 28,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IL" => 23,
        "IQ" => 23,
        "IS" => 26,
        "IT" => 27,
        "JO" => 30,
        "KW" => 30,
        "KZ" => 20,
        "LB" => 28,
        "LC" => 32,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "LY" => 25,
        "MC" => 27,
        "MD" => 24,
        "ME" => 22,
        "MK" => 19,
        "MR" => 27,
        "MT" => 31,
        "MU" => 30,
        "NL" => 18,
        "NO" => 15,
        "PK" => 24,
        "PL" => 28,
        "PS" => 29,
        "PT" => 25,
        "QA" => 29,
        "RO" => 24,
        "RS" => 22,
        "SA" => 24,
        "SC" => 31,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "ST" => 25,
        "SV" => 28,
        "TL" => 23,
        "TN" => 24,
        "TR" => 26,
        "UA" => 29,
        "VA" => 22,
        "VG" => 24,
        "XK" => 20,
        _ => return None,
    })
}

pub fn iban_valid(iban: &str) -> bool {
    // Without allocating: this runs for every prefix of every IBAN-shaped candidate.
    let compact = || iban.bytes().filter(|b| !b.is_ascii_whitespace());
    let len = compact().count();
    let mut head = compact();
    let (Some(c1), Some(c2)) = (head.next(), head.next()) else {
        return false;
    };
    if !c1.is_ascii_uppercase() || !c2.is_ascii_uppercase() {
        return false;
    }
    let cc = [c1, c2];
    if iban_length(std::str::from_utf8(&cc).unwrap_or("")) != Some(len) {
        return false;
    }
    // Mod-97 of the number with the first four characters moved to the end, letters as 10–35.
    let mut rem = 0u32;
    for c in compact().skip(4).chain(compact().take(4)) {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// ISO 3166 countries that have BICs in practice: every IBAN country plus the large others.
fn bic_country(cc: &str) -> bool {
    iban_length(cc).is_some()
        || matches!(
            cc,
            "US" | "CA"
                | "AU"
                | "NZ"
                | "JP"
                | "CN"
                | "HK"
                | "SG"
                | "IN"
                | "ZA"
                | "MX"
                | "AR"
                | "CL"
                | "CO"
                | "RU"
                | "KR"
                | "TW"
                | "TH"
                | "MY"
                | "ID"
                | "PH"
                | "VN"
                | "NG"
                | "KE"
                | "MA"
        )
}

pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = (c - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The card scheme a number's prefix and length belong to.
pub fn card_issuer(d: &str) -> Option<&'static str> {
    let n = d.len();
    let p = |k: usize| d.get(..k).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    Some(match () {
        _ if d.starts_with('4') && matches!(n, 13 | 16 | 19) => "visa",
        _ if (51..=55).contains(&p(2)) && n == 16 => "mastercard",
        _ if (2221..=2720).contains(&p(4)) && n == 16 => "mastercard",
        _ if matches!(p(2), 34 | 37) && n == 15 => "amex",
        _ if (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)))
            && (16..=19).contains(&n) =>
        {
            "discover"
        }
        _ if (3528..=3589).contains(&p(4)) && (16..=19).contains(&n) => "jcb",
        _ if (p(2) == 36 || p(2) == 38 || (300..=305).contains(&p(3)))
            && (14..=19).contains(&n) =>
        {
            "diners"
        }
        _ if p(2) == 62 && (16..=19).contains(&n) => "unionpay",
        _ if matches!(
            p(4),
            5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
        ) && (12..=19).contains(&n) =>
        {
            "maestro"
        }
        _ => return None,
    })
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Each byte's value in the base58 alphabet.
const BASE58_VALUE: [Option<u8>; 256] = {
    let mut table = [None; 256];
    let mut i = 0;
    while i < BASE58.len() {
        table[BASE58[i] as usize] = Some(i as u8);
        i += 1;
    }
    table
};

/// Base58check with bitcoin's version bytes (0x00 P2PKH, 0x05 P2SH).
pub fn base58check_valid(s: &str) -> bool {
    // Decoded into a fixed 25-byte big number (a bitcoin address is exactly 25 bytes): anything
    // that overflows it is not an address.
    let mut full = [0u8; 25];
    // Bytes in use, from the end: the multiply touches only those.
    let mut used = 0;
    for c in s.bytes() {
        let Some(mut carry) = BASE58_VALUE[c as usize].map(u32::from) else {
            return false;
        };
        for b in full[25 - used..].iter_mut().rev() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            if used == 25 {
                return false;
            }
            used += 1;
            full[25 - used] = (carry & 0xff) as u8;
            carry >>= 8;
        }
    }
    // Leading '1's stand for leading zero bytes; the number's own leading zeros must match.
    // The total length must be exactly 25: as many leading zero bytes as leading '1's.
    let zeros = s.bytes().take_while(|b| *b == b'1').count();
    if full.iter().take_while(|b| **b == 0).count() != zeros {
        return false;
    }
    if !matches!(full[0], 0x00 | 0x05) {
        return false;
    }
    let check = sha2::Sha256::digest(sha2::Sha256::digest(&full[..21]));
    check[..4] == full[21..]
}

/// Bech32 (BIP-173) or bech32m (BIP-350) with the `bc` prefix, and a witness program size
/// allowed for its version.
pub fn bech32_valid(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if s.chars().any(|c| c.is_ascii_lowercase()) && s.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let s = s.to_ascii_lowercase();
    let Some((hrp, data)) = s.rsplit_once('1') else {
        return false;
    };
    if hrp != "bc" || data.len() < 7 {
        return false;
    }
    let Some(values): Option<Vec<u8>> = data
        .bytes()
        .map(|c| CHARSET.iter().position(|x| *x == c).map(|v| v as u8))
        .collect()
    else {
        return false;
    };
    let mut chk: u32 = 1;
    let generator = [
        0x3b6a57b2u32,
        0x26508e6d,
        0x1ea119fa,
        0x3d4233dd,
        0x2a1462b3,
    ];
    let mut step = |v: u8| {
        let b = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v as u32;
        for (i, g) in generator.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    };
    for c in hrp.bytes() {
        step(c >> 5);
    }
    step(0);
    for c in hrp.bytes() {
        step(c & 31);
    }
    for v in &values {
        step(*v);
    }
    let version = values[0];
    let wanted = if version == 0 { 1 } else { 0x2bc830a3 };
    if chk != wanted {
        return false;
    }
    // Witness program length: 5-bit groups to bytes.
    let bits = (values.len() - 7) * 5;
    let len = bits / 8;
    version <= 16 && (2..=40).contains(&len) && (version != 0 || len == 20 || len == 32)
}

/// EIP-55: in a mixed-case address, each letter is upper case exactly where the Keccak-256 of
/// the lower-case hex has a nibble of 8 or more.
pub fn eip55_valid(addr: &str) -> bool {
    let hex = &addr[2..];
    if hex == hex.to_lowercase() || hex == hex.to_uppercase() {
        return true; // no checksum to check
    }
    let hash = sha3::Keccak256::digest(hex.to_lowercase().as_bytes());
    hex.chars().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    })
}

/// Every entity in `text`; phone numbers need `region` for numbers without a country code.
///
/// One left-to-right scan: at each candidate the matched kind is checked; if the check fails,
/// the later kinds that match at the same place are tried; the first that passes claims its
/// span and the scan goes on after it, so entities never overlap.
pub fn extract(text: &str, region: Option<&str>) -> Vec<Entity> {
    use regex_automata::{Anchored, Input};
    let sc = scanner();
    let country = region.and_then(|r| crate::text::identifiers::parse_region(r).ok());
    CACHES.with_borrow_mut(|caches| {
        let caches = caches.get_or_insert_with(|| Caches {
            all: sc.all.create_cache(),
            each: sc.each.iter().map(|r| r.create_cache()).collect(),
        });
        let mut found = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let input = Input::new(text).span(at..text.len());
            let Some(m) = sc.all.search_with(&mut caches.all, &input) else {
                break;
            };
            let start = m.start();
            let first = m.pattern().as_usize();
            let mut claimed = check(first, text, start, m.end(), country, &mut found);
            for kind in first + 1..KINDS.len() {
                if claimed.is_some() {
                    break;
                }
                if !can_start(kind, text.as_bytes()[start]) {
                    continue;
                }
                let here = Input::new(text)
                    .span(start..text.len())
                    .anchored(Anchored::Yes);
                if let Some(other) = sc.each[kind].search_with(&mut caches.each[kind], &here) {
                    claimed = check(kind, text, start, other.end(), country, &mut found);
                }
            }
            at = match claimed {
                Some(end) if end > start => end,
                _ => start + text[start..].chars().next().map_or(1, char::len_utf8),
            };
        }
        // In text order by construction (a URL's domain, on the same span, comes first).
        found
    })
}

fn entity(
    kind: &'static str,
    value: String,
    start: usize,
    end: usize,
    check: &'static str,
) -> Entity {
    Entity {
        kind,
        value,
        start,
        end,
        check,
    }
}

// Long (~169 lines): one arm per entity kind, each the checksum or registry check of that kind
// (IBAN mod-97, base58check, bech32, EIP-55, Luhn, libphonenumber); the arms share nothing.
/// Checks the candidate `text[start..end]` of kind number `kind`; when it passes, pushes its
/// entities and returns the end of the span it claims (a URL without its trailing
/// punctuation, the longest valid IBAN prefix).
fn check(
    kind: usize,
    text: &str,
    start: usize,
    end: usize,
    country: Option<phonenumber::country::Id>,
    found: &mut Vec<Entity>,
) -> Option<usize> {
    let raw = &text[start..end];
    let bytes = raw.as_bytes();
    match KINDS[kind].0 {
        "url" => {
            let raw = raw.trim_end_matches(['.', ',', ')', ';', ':', '!', '?', '\'', '"', ']']);
            let host = raw
                .split("://")
                .nth(1)
                .unwrap_or(raw)
                .split(['/', '?', '#', ':'])
                .next()
                .unwrap_or("")
                .to_lowercase();
            if !host.contains('.') {
                return None;
            }
            let end = start + raw.len();
            let domain = host.trim_start_matches("www.").to_string();
            found.push(entity("domain", domain, start, end, "from url"));
            found.push(entity("url", raw.to_string(), start, end, "syntax"));
            Some(end)
        }
        "email" => {
            found.push(entity("email", raw.to_lowercase(), start, end, "syntax"));
            Some(end)
        }
        "bech32" => bech32_valid(raw).then(|| {
            found.push(entity("bitcoin", raw.to_lowercase(), start, end, "bech32"));
            end
        }),
        "btc58" => base58check_valid(raw).then(|| {
            found.push(entity(
                "bitcoin",
                raw.to_string(),
                start,
                end,
                "base58check",
            ));
            end
        }),
        "eth" => eip55_valid(raw).then(|| {
            let hex = &raw[2..];
            let mixed = hex.bytes().any(|c| c.is_ascii_lowercase())
                && hex.bytes().any(|c| c.is_ascii_uppercase());
            let check = if mixed {
                "eip-55"
            } else {
                "syntax (no checksum in one case)"
            };
            found.push(entity("ethereum", raw.to_lowercase(), start, end, check));
            end
        }),
        "iban" => {
            // The pattern may run into a following word: the longest valid prefix counts.
            let len = (15..=bytes.len())
                .rev()
                .find(|&n| bytes[n - 1] != b' ' && iban_valid(&raw[..n]))?;
            let sub = &raw[..len];
            found.push(entity(
                "iban",
                sub.replace(' ', ""),
                start,
                start + len,
                "mod-97+length",
            ));
            Some(start + len)
        }
        "bic" => {
            let mut from = start.saturating_sub(24);
            while !text.is_char_boundary(from) {
                from += 1;
            }
            let before = text[from..start].to_ascii_uppercase();
            let cue = before.contains("BIC") || before.contains("SWIFT");
            // Without a cue, an 8- or 11-letter capitalised word is far likelier than a BIC: a
            // digit in the location code is required then.
            (bic_country(&raw[4..6]) && (cue || bytes[6..8].iter().any(u8::is_ascii_digit))).then(
                || {
                    let check = if cue { "country+cue" } else { "country+digit" };
                    found.push(entity("bic", raw.to_string(), start, end, check));
                    end
                },
            )
        }
        "card" => {
            // At most 19 digits (the pattern's bound): on the stack, as most candidates fail.
            let mut buffer = [0u8; 19];
            let mut n = 0;
            for b in bytes.iter().filter(|b| b.is_ascii_digit()) {
                buffer[n.min(18)] = *b;
                n += 1;
            }
            let digits = std::str::from_utf8(&buffer[..n.min(19)]).ok()?;
            if n > 19 || !luhn(digits) {
                return None;
            }
            let check = match card_issuer(digits)? {
                "visa" => "luhn+visa",
                "mastercard" => "luhn+mastercard",
                "amex" => "luhn+amex",
                "discover" => "luhn+discover",
                "jcb" => "luhn+jcb",
                "diners" => "luhn+diners",
                "unionpay" => "luhn+unionpay",
                _ => "luhn+maestro",
            };
            found.push(entity("card", digits.to_string(), start, end, check));
            Some(end)
        }
        "ipv4" => raw
            .split('.')
            .all(|o| {
                o.parse::<u16>().is_ok_and(|v| v <= 255) && (o.len() == 1 || !o.starts_with('0'))
            })
            .then(|| {
                found.push(entity("ipv4", raw.to_string(), start, end, "octets"));
                end
            }),
        "ipv6" => {
            let s = raw.trim_end_matches(':');
            if s.matches(':').count() < 2 || !s.bytes().any(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let addr = s.parse::<std::net::Ipv6Addr>().ok()?;
            found.push(entity("ipv6", addr.to_string(), start, end, "rfc 4291"));
            Some(end)
        }
        _ => {
            // A date or a time is not a phone number; digits glued to letters (an account or
            // order code) are not one either; and a number written nationally starts with the
            // trunk prefix 0 (a bare 9062709094 is more likely anything else).
            let trimmed = raw.trim();
            if trimmed.contains(':') || trimmed.matches('.').count() >= 2 {
                return None;
            }
            if text[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            {
                return None;
            }
            if !trimmed.starts_with(['+', '0', '(']) {
                return None;
            }
            // One libphonenumber parse per candidate (the costliest step here), and only for
            // the digit counts a number can have.
            let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
            if !(5..=17).contains(&digits) {
                return None;
            }
            let number = phonenumber::parse(country, trimmed).ok()?;
            if !crate::text::identifiers::phone_valid(&number) {
                return None;
            }
            let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
            found.push(entity("phone", e164, start, end, "libphonenumber valid"));
            Some(end)
        }
    }
}

/// One observation per distinct (kind, value) over several texts of an item (the bodies of its
/// records, its OCR lines, the document itself), with where each occurrence is: the text's
/// locator, byte offsets in that text, and context. At most 20 occurrences are listed; `count`
/// has them all.
pub fn observations<'a>(
    texts: impl Iterator<Item = (serde_json::Value, &'a str)>,
    region: Option<&str>,
) -> Vec<crate::analyze::ObservationDraft> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<(&'static str, String), (usize, &'static str, Vec<serde_json::Value>)> =
        BTreeMap::new();
    for (locator, text) in texts {
        for e in extract(text, region) {
            let slot = by
                .entry((e.kind, e.value.clone()))
                .or_insert((0, e.check, Vec::new()));
            slot.0 += 1;
            if slot.2.len() < 20 {
                slot.2.push(serde_json::json!({
                    "in": locator, "start": e.start, "end": e.end, "raw": e.raw(text), "context": context(text, &e),
                }));
            }
        }
    }
    by.into_iter()
        .map(|((kind, value), (count, check, occurrences))| crate::analyze::ObservationDraft {
            kind: crate::model::ObservationKind::TextEntity,
            value: serde_json::json!({
                "entity": kind, "value": value, "check": check, "count": count, "occurrences": occurrences,
            }),
            confidence: if kind == "phone" || kind == "bic" { 0.9 } else { 1.0 },
            provenance: serde_json::json!({"region": region}),
        })
        .collect()
}

/// Whether a file's first bytes make it a communication export (see [`TextEntityAnalyzer`]).
pub type IsExport = dyn Fn(&[u8]) -> bool + Send + Sync;

/// Plain-text documents that are not communication exports: their entities.
pub struct TextEntityAnalyzer {
    /// Default region for phone numbers without a country code (`--region`).
    pub region: Option<String>,
    /// Whether a file's first bytes make it a communication export: those are left to the
    /// comms parsers, whose records carry their own entities. Given by the engine, which
    /// knows the parsers, so that `text` depends on nothing of `comms`.
    pub is_export: Box<IsExport>,
}

/// The most of a document's text kept in the store for the word index.
pub const MAX_INDEXED_TEXT: usize = 1 << 20;

/// Largest document searched for entities (kept in memory once).
pub const MAX_DOCUMENT: u64 = 64 << 20;

impl crate::analyze::Analyzer for TextEntityAnalyzer {
    fn name(&self) -> &'static str {
        "entities"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "pattern candidates kept only when their checksum or registry check passes (IBAN mod-97 and length, \
         base58check, bech32, EIP-55, Luhn plus issuer ranges, libphonenumber validity); on a generated chat \
         corpus with decoys (examples/entity_eval, the corpus it was tuned on): precision and recall 1.0 for \
         every kind but phone numbers (precision 0.995: long order numbers starting with 06 pass as Dutch \
         numbers); e-mail, URL and domain have no checksum; BIC needs a BIC/SWIFT cue or a digit in its \
         location code"
    }
    fn accepts(&self, item: &crate::analyze::ItemView) -> bool {
        item.content.is_some()
            && item
                .content_type
                .is_some_and(|c| c.mime.starts_with("text/"))
            && item.entry.meta.size <= MAX_DOCUMENT
            && !(self.is_export)(item.head)
    }
    fn wants_content(
        &self,
        content_type: &crate::evidence::typing::ContentType,
        size: u64,
    ) -> bool {
        content_type.mime.starts_with("text/") && size <= MAX_DOCUMENT
    }
    fn analyze(
        &self,
        item: &crate::analyze::ItemView,
    ) -> Result<Vec<crate::analyze::ObservationDraft>, String> {
        let Some(content) = item.content else {
            return Ok(Vec::new());
        };
        use crate::text::encoding;
        let found = encoding::detect(content);
        let decoded = encoding::to_utf8(content, found);
        let text = String::from_utf8_lossy(&decoded);
        let mut out = observations(
            std::iter::once((
                serde_json::json!({"document": true, "encoding": found.name()}),
                text.as_ref(),
            )),
            self.region.as_deref(),
        );
        // The text itself, for the word index (rebuilt from the store after each scan): up to
        // MAX_INDEXED_TEXT, and said when cut.
        let mut cut = text.len().min(MAX_INDEXED_TEXT);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(crate::analyze::ObservationDraft {
            kind: crate::model::ObservationKind::TextDocument,
            value: serde_json::json!({
                "text": &text[..cut], "bytes": text.len(), "truncated": cut < text.len(),
                "encoding": found.name(),
            }),
            confidence: 1.0,
            provenance: serde_json::json!({}),
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        extract(text, Some("NL"))
            .into_iter()
            .map(|e| (e.kind, e.value))
            .collect()
    }

    #[test]
    fn checksums_decide() {
        // Test vectors: the IBAN registry's NL example, BIP-173/350, EIP-55, test card numbers.
        assert!(iban_valid("NL91ABNA0417164300"));
        assert!(!iban_valid("NL91ABNA0417164301"));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(base58check_valid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(base58check_valid("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(!base58check_valid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(bech32_valid("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"));
        assert!(bech32_valid(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
        ));
        assert!(!bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
        assert!(eip55_valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(!eip55_valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
        assert!(luhn("4111111111111111") && card_issuer("4111111111111111") == Some("visa"));
        assert_eq!(card_issuer("378282246310005"), Some("amex"));
        assert!(!luhn("4111111111111112"));
    }

    #[test]
    fn entities_in_a_chat_line_each_once_with_offsets() {
        let t = "Pay NL91 ABNA 0417 1643 00 (BIC ABNANL2A), card 4111 1111 1111 1111, btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2, \
                 mail Jan@Example.NL or see https://example.nl/x?y=1. Call 06-12345678 from 192.168.1.20 / 2001:db8::1";
        let got = kinds(t);
        let want: Vec<(&str, String)> = vec![
            ("iban", "NL91ABNA0417164300".into()),
            ("bic", "ABNANL2A".into()),
            ("card", "4111111111111111".into()),
            ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2".into()),
            ("email", "jan@example.nl".into()),
            ("domain", "example.nl".into()),
            ("url", "https://example.nl/x?y=1".into()),
            ("phone", "+31612345678".into()),
            ("ipv4", "192.168.1.20".into()),
            ("ipv6", "2001:db8::1".into()),
        ];
        assert_eq!(got, want);
        let e = extract(t, Some("NL"));
        let iban = &e[0];
        assert_eq!(&t[iban.start..iban.end], "NL91 ABNA 0417 1643 00");
        assert!(context(t, iban).starts_with("Pay NL91"));
    }

    #[test]
    fn look_alikes_are_not_reported() {
        // Wrong IBAN checksum, a Luhn-failing card, a date, a version number, a capitalised word.
        let t = "NL91ABNA0417164301 4111111111111112 on 12.03.2024 at 10:30, version 1.2.3, MEETINGS at noon";
        assert!(kinds(t).is_empty(), "{:?}", kinds(t));
    }
}
