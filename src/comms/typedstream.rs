//! The text of an Apple `typedstream` NSAttributedString: iOS 16 and later (and macOS
//! Ventura's Messages) often leave `message.text` empty and keep the body only in
//! `message.attributedBody`, an NSArchiver stream of an `NSAttributedString` whose first
//! content is the `NSString`. A parser that reads only `text` shows those messages as empty.
//!
//! Written here rather than taken from a crate: the one maintained Rust reader (crabstep) is
//! GPL-3.0, which this Apache-2.0 project cannot link. Only the string is read, not the
//! attribute runs (mentions, links, edits); `scripts/typedstream_reference.py` compares the
//! result with pytypedstream's full unarchiver.
//!
//! Layout (NeXTSTEP typedstream, as NSArchiver writes it): a header `04 0b "streamtyped"`, the
//! system version, then objects. The string object is the class `NSString` (or
//! `NSMutableString` with `NSString` as superclass), version 1, followed by a new type
//! encoding `84 01 '+'` (bytes with a length) and the length as a typedstream integer: one
//! signed byte, or `81` and an i16, or `82` and an i32, little-endian.

const HEADER: &[u8] = b"\x04\x0bstreamtyped";
const STRING_CLASS: &[u8] = b"NSString";
/// A new type-encoding string of length 1: `+`, a counted run of bytes.
const BYTES_ENCODING: &[u8] = b"\x84\x01+";
/// How far after the class name the encoding may start: version byte, superclass reference
/// (one byte, or a new class whose name is at most `NSObject`), some slack.
const SEARCH_WINDOW: usize = 32;

/// The message text of an `attributedBody` blob.
pub fn attributed_text(blob: &[u8]) -> Result<String, String> {
    if !blob.starts_with(HEADER) {
        return Err("attributedBody is not a typedstream (no streamtyped header)".into());
    }
    let class = memchr::memmem::find(blob, STRING_CLASS)
        .ok_or("attributedBody holds no NSString".to_string())?;
    let after_class = class + STRING_CLASS.len();
    let window = &blob[after_class..blob.len().min(after_class + SEARCH_WINDOW)];
    let encoding = memchr::memmem::find(window, BYTES_ENCODING)
        .ok_or("attributedBody: NSString without its byte string".to_string())?;
    let mut at = after_class + encoding + BYTES_ENCODING.len();
    let length = read_integer(blob, &mut at)?;
    let length = usize::try_from(length)
        .map_err(|_| format!("attributedBody: negative string length {length}"))?;
    let bytes = blob.get(at..at + length).ok_or_else(|| {
        format!(
            "attributedBody: string of {length} bytes runs past the blob's end ({} bytes)",
            blob.len()
        )
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| format!("attributedBody: string is not UTF-8 ({e})"))
}

/// A typedstream integer: values -128..=127 other than the tags are one byte; tag 0x81 is
/// followed by an i16, 0x82 by an i32.
fn read_integer(blob: &[u8], at: &mut usize) -> Result<i64, String> {
    let truncated = || "attributedBody: truncated in a string length".to_string();
    let tag = *blob.get(*at).ok_or_else(truncated)?;
    *at += 1;
    let mut fixed = |n: usize| -> Result<&[u8], String> {
        let bytes = blob.get(*at..*at + n).ok_or_else(truncated)?;
        *at += n;
        Ok(bytes)
    };
    match tag {
        0x81 => Ok(i16::from_le_bytes(fixed(2)?.try_into().unwrap()) as i64),
        0x82 => Ok(i32::from_le_bytes(fixed(4)?.try_into().unwrap()) as i64),
        0x00..=0x7f => Ok(tag as i64),
        other => Err(format!(
            "attributedBody: tag {other:#04x} where a string length belongs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attributedBody as Messages writes it for a plain text message, the text and its
    /// lengths spliced in (the layout of `scripts/make_phone_dbs.py`).
    fn blob(text: &str) -> Vec<u8> {
        let mut b = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+".to_vec();
        let n = text.len();
        if n < 0x80 {
            b.push(n as u8);
        } else {
            b.push(0x81);
            b.extend((n as i16).to_le_bytes());
        }
        b.extend(text.as_bytes());
        b.extend(b"\x86\x84\x02iI\x01\x01\x92\x86\x86");
        b
    }

    #[test]
    fn short_and_long_strings() {
        assert_eq!(attributed_text(&blob("ok")).unwrap(), "ok");
        let long = "gate 4 — ".repeat(40);
        assert!(long.len() > 127);
        assert_eq!(attributed_text(&blob(&long)).unwrap(), long);
    }

    #[test]
    fn broken_blobs_say_why() {
        assert!(
            attributed_text(b"bplist00")
                .unwrap_err()
                .contains("not a typedstream")
        );
        let mut cut = blob("the whole message");
        // Cut inside the text: the 10-byte trailer and the last 4 bytes of the string.
        cut.truncate(cut.len() - 14);
        assert!(
            attributed_text(&cut)
                .unwrap_err()
                .contains("past the blob's end")
        );
        let header_only = HEADER.to_vec();
        assert!(
            attributed_text(&header_only)
                .unwrap_err()
                .contains("no NSString")
        );
    }
}
