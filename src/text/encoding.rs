//! The text encoding of an export, so that a UTF-16 or Latin-1 file is read as what it is
//! instead of being skipped as binary or filled with U+FFFD.
//!
//! Seen in seized data: Windows tools write UTF-16 (with or without a byte-order mark), older
//! phones and Excel write Windows-1252/Latin-1. The rule is the one browsers and `file` use, in
//! this order: a byte-order mark; UTF-16 without one when every other byte is mostly zero; valid
//! UTF-8; UTF-8 with a few broken sequences (kept as UTF-8, the parsers report the damage);
//! otherwise Windows-1252, which maps every byte (Latin-1 is its subset apart from the C1
//! controls, which do not occur in text).

use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

/// UTF-16 by its byte-order mark or by its zero high bytes; UTF-8 by its mark.
fn marked_or_utf16(bytes: &[u8]) -> Option<Encoding> {
    match bytes {
        [0xff, 0xfe, ..] => return Some(Encoding::Utf16Le),
        [0xfe, 0xff, ..] => return Some(Encoding::Utf16Be),
        [0xef, 0xbb, 0xbf, ..] => return Some(Encoding::Utf8),
        _ => {}
    }
    let sample = &bytes[..bytes.len().min(4096)];
    let pairs = sample.len() / 2;
    // Either parity needs zeros in 40% of the pairs: the total count rules most binary
    // samples out before the two counts by parity. Counted in u8 lanes per 255 bytes, which
    // the compiler vectorises (`filter().count()` into usize was 5% of a scan of 100,000
    // random-byte files, perf).
    let zeros: usize = sample
        .chunks(255)
        .map(|c| c.iter().fold(0u8, |n, &b| n + u8::from(b == 0)) as usize)
        .sum();
    if pairs >= 2 && zeros * 10 >= pairs * 4 {
        let zero_at = |parity: usize| {
            sample
                .chunks_exact(2)
                .filter(|pair| pair[parity] == 0)
                .count()
        };
        // Text in any Latin script written as UTF-16 has a zero high byte in most units.
        let (even, odd) = (zero_at(0), zero_at(1));
        if odd * 10 >= pairs * 4 && even * 10 < pairs {
            return Some(Encoding::Utf16Le);
        }
        if even * 10 >= pairs * 4 && odd * 10 < pairs {
            return Some(Encoding::Utf16Be);
        }
    }
    None
}

/// Whether a byte never occurs in text: every C0 control but TAB..CR and ESC, and DEL. One
/// rule for typing (`evidence::typing` calls such a head binary) and for the comms
/// recognisers ([`text_prefix`]).
pub fn is_binary_byte(b: u8) -> bool {
    b < 0x09 || (b > 0x0d && b < 0x20 && b != 0x1b) || b == 0x7f
}

/// The first bytes of `bytes` that can be text: all of them when they are UTF-16 (by mark or
/// zero high bytes), else those before the first byte that never occurs in text (a NUL, a
/// control). A JPEG, a zip or random bytes give a few bytes; an export followed by zeros (a
/// pre-allocated or carved file) gives the export. Each recogniser then reads a few bytes
/// instead of decoding 4 KB as Windows-1252: on 100,000 random-byte files that decoding,
/// asked twice per file, was 18% of a scan's CPU (scripts/bench-hash.sh, perf, 2026-12-02).
pub fn text_prefix(bytes: &[u8]) -> &[u8] {
    let Some(cut) = bytes.iter().position(|&b| is_binary_byte(b)) else {
        return bytes;
    };
    // UTF-16 has zero bytes, and 0x01 high bytes (U+0100-U+01FF, Central European letters).
    if matches!(
        marked_or_utf16(bytes),
        Some(Encoding::Utf16Le | Encoding::Utf16Be)
    ) {
        return bytes;
    }
    &bytes[..cut]
}

/// The encoding of `bytes` (the whole content or its first bytes).
pub fn detect(bytes: &[u8]) -> Encoding {
    if let Some(e) = marked_or_utf16(bytes) {
        return e;
    }
    let sample = &bytes[..bytes.len().min(4096)];
    // UTF-8, unless broken sequences outnumber the well-formed non-ASCII characters. A sample
    // cut in the middle of a character is not counted against it.
    let (mut good, mut bad) = (0usize, 0usize);
    let mut rest = sample;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                good += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                good += std::str::from_utf8(valid)
                    .map_or(0, |s| s.chars().filter(|c| !c.is_ascii()).count());
                match e.error_len() {
                    Some(n) => {
                        bad += 1;
                        rest = &after[n..];
                    }
                    None => break, // cut short at the end of the sample
                }
            }
        }
    }
    if bad == 0 || good > bad {
        Encoding::Utf8
    } else {
        Encoding::Windows1252
    }
}

/// Windows-1252's characters for 0x80–0x9F (the rest of the bytes are their Latin-1 code points;
/// the five undefined ones are kept as the C1 controls, as browsers do).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// `bytes` as UTF-8 text in the detected encoding: borrowed when it already is UTF-8. A UTF-16
/// byte-order mark is dropped; an odd trailing byte or an unpaired surrogate becomes U+FFFD.
pub fn to_utf8(bytes: &[u8], encoding: Encoding) -> Cow<'_, [u8]> {
    match encoding {
        Encoding::Utf8 => Cow::Borrowed(bytes),
        Encoding::Windows1252 => Cow::Owned(
            bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9f => CP1252_HIGH[(b - 0x80) as usize],
                    _ => b as char,
                })
                .collect::<String>()
                .into_bytes(),
        ),
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let body = match bytes {
                [0xff, 0xfe, rest @ ..] | [0xfe, 0xff, rest @ ..] => rest,
                _ => bytes,
            };
            let units = body.chunks(2).map(|pair| match (pair, encoding) {
                ([a, b], Encoding::Utf16Le) => u16::from_le_bytes([*a, *b]),
                ([a, b], _) => u16::from_be_bytes([*a, *b]),
                _ => 0xfffd,
            });
            Cow::Owned(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or('\u{fffd}'))
                    .collect::<String>()
                    .into_bytes(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if big_endian {
                [0xfe, 0xff]
            } else {
                [0xff, 0xfe]
            });
        }
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_with_and_without_a_mark_in_both_byte_orders() {
        let text = "24/12/19, 11:23 - Zoë: café 😀\n";
        for big_endian in [false, true] {
            for bom in [true, false] {
                let bytes = utf16(text, big_endian, bom);
                let encoding = detect(&bytes);
                assert_eq!(
                    encoding,
                    if big_endian {
                        Encoding::Utf16Be
                    } else {
                        Encoding::Utf16Le
                    },
                    "big endian {big_endian}, mark {bom}"
                );
                assert_eq!(to_utf8(&bytes, encoding).as_ref(), text.as_bytes());
            }
        }
    }

    #[test]
    fn the_text_prefix_is_whole_text_in_every_encoding_and_stops_at_binary() {
        let text = "24/12/19, 11:23 - Zoë: café 😀\tok\r\n\x0c\x1b$B\n";
        assert_eq!(text_prefix(text.as_bytes()), text.as_bytes());
        let cp1252 = b"Zo\xeb: caf\xe9 \x96 5 \x80\n";
        assert_eq!(text_prefix(cp1252), cp1252);
        for big_endian in [false, true] {
            for bom in [true, false] {
                for text in [text, "Łódź, Żółć: ąęśń\n"] {
                    let bytes = utf16(text, big_endian, bom);
                    assert_eq!(text_prefix(&bytes), &bytes[..]);
                }
            }
        }
        assert_eq!(
            text_prefix(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"),
            b"\xff\xd8\xff\xe0"
        );
        assert_eq!(text_prefix(b"PK\x03\x04\x14\x00"), b"PK");
        // An export followed by zeros (pre-allocated, carved) keeps the export.
        let padded = [
            b"From a@b.c Mon Jan  1 00:00:00 2024\n".as_slice(),
            &[0u8; 64],
        ]
        .concat();
        assert_eq!(text_prefix(&padded), &padded[..padded.len() - 64]);
        // Every control but TAB..CR and ESC ends it, and DEL.
        for b in (0u8..0x20).chain([0x7f]) {
            let sample = [b'a', b, b'b'];
            let text_byte = (0x09..=0x0d).contains(&b) || b == 0x1b;
            assert_eq!(
                text_prefix(&sample).len(),
                if text_byte { 3 } else { 1 },
                "{b:#x}"
            );
        }
        assert_eq!(text_prefix(b""), b"");
    }

    #[test]
    fn latin1_and_windows_1252_are_told_from_utf8_with_a_broken_byte() {
        // "Zoë: café – 5 €" in Windows-1252.
        let cp1252 = b"Zo\xeb: caf\xe9 \x96 5 \x80\n";
        assert_eq!(detect(cp1252), Encoding::Windows1252);
        assert_eq!(
            std::str::from_utf8(&to_utf8(cp1252, Encoding::Windows1252)).unwrap(),
            "Zoë: café – 5 €\n"
        );
        // Mostly good UTF-8 with one broken byte stays UTF-8 (the parser reports the byte).
        let utf8 = "Zoë: café, naïve, señor \u{fffd}".replace('\u{fffd}', "");
        let mut damaged = utf8.into_bytes();
        damaged.push(0xff);
        assert_eq!(detect(&damaged), Encoding::Utf8);
        // A sample cut inside a character is still UTF-8.
        let cut = "ëëë".as_bytes();
        assert_eq!(detect(&cut[..5]), Encoding::Utf8);
        assert_eq!(detect(b"plain ascii"), Encoding::Utf8);
    }
}
