//! A generated chat-like corpus with planted entities and look-alike decoys, and its ground
//! truth: for measuring the extractor's precision and recall (tests, `examples/entity_eval`,
//! `scripts/bench-text.sh`). Deterministic: the same seed gives the same text.

use sha2::Digest;

/// A small deterministic generator (64-bit LCG, high bits).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn iban(rng: &mut Rng) -> String {
    // NL: bank code (4 letters) + 10 digits; DE: 18 digits.
    let (cc, bban) = if rng.below(2) == 0 {
        let bank = rng.pick(&["ABNA", "INGB", "RABO", "TRIO", "SNSB"]);
        ("NL", format!("{bank}{}", rng.digits(10)))
    } else {
        ("DE", rng.digits(18))
    };
    let numeric: String = format!("{bban}{cc}00")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let rem = numeric
        .bytes()
        .fold(0u32, |r, b| (r * 10 + (b - b'0') as u32) % 97);
    format!("{cc}{:02}{bban}", 98 - rem)
}

fn spaced(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn luhn_complete(prefix: &str, len: usize, rng: &mut Rng) -> String {
    let mut s = format!("{prefix}{}", rng.digits(len - prefix.len() - 1));
    for d in 0..10 {
        let candidate = format!("{s}{d}");
        if super::entities::luhn(&candidate) {
            s = candidate;
            break;
        }
    }
    s
}

fn base58(bytes: &[u8]) -> String {
    const A: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(digits.iter().rev().map(|d| A[*d as usize] as char))
        .collect()
}

fn bitcoin(rng: &mut Rng) -> String {
    let mut payload = vec![if rng.below(2) == 0 { 0x00 } else { 0x05 }];
    payload.extend((0..20).map(|_| rng.below(256) as u8));
    let check = sha2::Sha256::digest(sha2::Sha256::digest(&payload));
    payload.extend_from_slice(&check[..4]);
    base58(&payload)
}

fn ethereum(rng: &mut Rng) -> String {
    let hex: String = (0..40)
        .map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap())
        .collect();
    if rng.below(2) == 0 {
        return format!("0x{hex}");
    }
    let hash = sha3::Keccak256::digest(hex.as_bytes());
    let mixed: String = hex
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
            if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    format!("0x{mixed}")
}

// Long (~146 lines): the generator of the entity evaluation corpus, one arm per line template.
/// (text, ground truth as (kind, normalised value) in order).
pub fn generate(lines: usize, seed: u64) -> (String, Vec<(&'static str, String)>) {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    let mut truth = Vec::new();
    let words = [
        "ok",
        "see you",
        "lol",
        "tomorrow",
        "at the usual place",
        "bring it",
        "thanks",
        "call me",
        "where are you",
        "on my way",
    ];
    let names = ["Anna", "Bram", "Chris", "Dewi", "Eva", "Fatima", "Gert"];
    for i in 0..lines {
        let day = 1 + rng.below(28);
        let (h, m) = (rng.below(24), rng.below(60));
        text.push_str(&format!(
            "{day:02}/03/24, {h:02}:{m:02} - {}: ",
            rng.pick(&names)
        ));
        match rng.below(16) {
            0 => {
                let v = iban(&mut rng);
                text.push_str(&format!(
                    "pay to {} please",
                    if rng.below(2) == 0 {
                        spaced(&v)
                    } else {
                        v.clone()
                    }
                ));
                truth.push(("iban", v));
            }
            1 => {
                let prefix = rng.pick(&["4", "51", "55", "2221", "34", "37", "6011"]);
                let len = if prefix.starts_with('3') { 15 } else { 16 };
                let v = luhn_complete(prefix, len, &mut rng);
                let shown = if rng.below(2) == 0 {
                    spaced(&v)
                } else {
                    v.clone()
                };
                text.push_str(&format!("card {shown} exp 04/27"));
                truth.push(("card", v));
            }
            2 => {
                let v = bitcoin(&mut rng);
                text.push_str(&format!("send the btc to {v} asap"));
                truth.push(("bitcoin", v));
            }
            3 => {
                let v = ethereum(&mut rng);
                text.push_str(&format!("eth: {v}"));
                truth.push(("ethereum", v.to_lowercase()));
            }
            4 => {
                // Dutch mobile numbers: 06 and 1-5 (the ranges libphonenumber knows as valid).
                let n = format!("{}{}", 1 + rng.below(5), rng.digits(7));
                let shown = match rng.below(3) {
                    0 => format!("06-{n}"),
                    1 => format!("+31 6 {} {}", &n[..4], &n[4..]),
                    _ => format!("06 {} {}", &n[..4], &n[4..]),
                };
                text.push_str(&format!("new number {shown}"));
                truth.push(("phone", format!("+316{n}")));
            }
            5 => {
                let user = format!(
                    "{}{}",
                    rng.pick(&["jan", "piet", "x.ray", "m_b"]),
                    rng.below(1000)
                );
                let v = format!(
                    "{user}@{}",
                    rng.pick(&["example.nl", "mail.example.com", "proton.me"])
                );
                text.push_str(&format!("mail {v} later"));
                truth.push(("email", v));
            }
            6 => {
                let host = rng.pick(&["example.org", "drop.example.net", "files.example.com"]);
                let v = format!("https://{host}/d/{}", rng.digits(6));
                text.push_str(&format!("link {v}."));
                truth.push(("url", v));
                truth.push(("domain", host.to_string()));
            }
            7 => {
                let v = format!(
                    "{}.{}.{}.{}",
                    1 + rng.below(223),
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                );
                text.push_str(&format!("server {v} is up"));
                truth.push(("ipv4", v));
            }
            // Decoys: wrong checksums and numbers that look like entities.
            8 => {
                let mut v = iban(&mut rng);
                let last = v.pop().unwrap();
                v.push(if last == '9' {
                    '0'
                } else {
                    char::from(last as u8 + 1)
                });
                text.push_str(&format!("old account {v}"));
            }
            9 => {
                let mut v = luhn_complete("4", 16, &mut rng);
                let last = v.pop().unwrap();
                v.push(if last == '9' {
                    '0'
                } else {
                    char::from(last as u8 + 1)
                });
                text.push_str(&format!("ref {v}"));
            }
            10 => text.push_str(&format!(
                "order {} costs €{}.{:02}",
                rng.digits(12),
                rng.below(500),
                rng.below(100)
            )),
            11 => text.push_str(&format!(
                "version {}.{}.{} on {:02}.{:02}.2024",
                rng.below(9),
                rng.below(20),
                rng.below(99),
                day,
                1 + rng.below(12)
            )),
            _ => text.push_str(rng.pick(&words)),
        }
        text.push('\n');
        if i % 7 == 6 {
            text.push_str(rng.pick(&words));
            text.push('\n');
        }
    }
    (text, truth)
}

/// Per kind: (true positives, false positives, false negatives), matching on (kind, value).
pub fn score(
    found: &[(&'static str, String)],
    truth: &[(&'static str, String)],
) -> std::collections::BTreeMap<&'static str, (usize, usize, usize)> {
    use std::collections::{BTreeMap, HashMap};
    let mut want: HashMap<(&str, &str), usize> = HashMap::new();
    for (k, v) in truth {
        *want.entry((k, v.as_str())).or_default() += 1;
    }
    let mut out: BTreeMap<&'static str, (usize, usize, usize)> = BTreeMap::new();
    for (k, v) in found {
        let e = out.entry(k).or_default();
        match want.get_mut(&(*k, v.as_str())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                e.0 += 1;
            }
            _ => e.1 += 1,
        }
    }
    for ((k, _), n) in want {
        let kind = truth.iter().find(|t| t.0 == k).map(|t| t.0).unwrap_or("?");
        out.entry(kind).or_default().2 += n;
    }
    out
}
