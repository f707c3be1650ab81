//! Evidence sources: walking, typing, digests, and the integrity manifest.
//!
//! Evidence is read-only: files are opened `O_RDONLY | O_NOFOLLOW | O_NONBLOCK`, with
//! `O_NOATIME` when the kernel allows it, and nothing is ever created inside a source.

pub mod archive;
pub mod digest;
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
        if c.is_control() {
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
