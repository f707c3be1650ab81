//! Evidence sources: walking, typing, digests, and the integrity manifest.
//!
//! Evidence is read-only: files are opened `O_RDONLY | O_NOFOLLOW | O_NONBLOCK`, with
//! `O_NOATIME` when the kernel allows it, and nothing is ever created inside a source.

pub mod archive;
pub mod digest;
pub mod md5_libcrypto;
pub mod typing;
pub mod verify;
pub mod walk;

use digest::Sha256;

/// Root digest of a source: SHA-256 over its regular files sorted by path bytes, each
/// contributing `path bytes, 0x00, raw SHA-256 (32 bytes)`. Files that could not be read are
/// left out (they are error records and counted).
pub fn root_digest<'a>(mut files: Vec<(&'a [u8], &'a Sha256)>) -> Sha256 {
    use sha2::Digest;
    files.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = sha2::Sha256::new();
    for (path, digest) in files {
        h.update(path);
        h.update([0u8]);
        h.update(digest.0);
    }
    Sha256(h.finalize().into())
}

/// Bytes of a path as text for people: lossy UTF-8 with control characters (terminal escapes
/// included) replaced by their `\x..` form, so a hostile name cannot drive the terminal.
pub fn display_path(bytes: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(bytes))
}

/// Replaces control characters (C0, DEL, C1) with visible escapes.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Controls, and the bidirectional formatting characters: a right-to-left override
        // (U+202E) in `rtl-\u{202e}gpj.exe` shows it as `rtl-exe.jpg`. Also zero-width and
        // line/paragraph separators, which hide or break what is printed.
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_made_visible() {
        assert_eq!(
            display_path(b"evil\x1b[31mred\x07"),
            "evil\\x{1b}[31mred\\x{7}"
        );
        assert_eq!(display_path(b"caf\xe9"), "caf\u{fffd}");
        // Issue 11.13: a right-to-left override cannot make an .exe read as a .jpg.
        assert_eq!(
            display_path("rtl-\u{202e}gpj.exe".as_bytes()),
            "rtl-\\x{202e}gpj.exe"
        );
        assert_eq!(sanitize("a\u{2066}b\u{200b}c"), "a\\x{2066}b\\x{200b}c");
    }

    #[test]
    fn root_digest_is_independent_of_input_order() {
        let a = Sha256([1; 32]);
        let b = Sha256([2; 32]);
        let one = root_digest(vec![(b"x".as_slice(), &a), (b"y".as_slice(), &b)]);
        let two = root_digest(vec![(b"y".as_slice(), &b), (b"x".as_slice(), &a)]);
        assert_eq!(one, two);
        assert_ne!(
            one,
            root_digest(vec![(b"x".as_slice(), &b), (b"y".as_slice(), &a)])
        );
    }
}
