//! Digests as fixed-size newtypes; hex only at the edges (export, display, parsing hash sets).
//!
//! `digest_reader` computes MD5, SHA-1 and SHA-256 in one read pass: the formats investigators
//! exchange (NSRL, HashKeeper, VICS, hashdeep) use all three, and reading a file once is the
//! whole point on a slow evidence disk.

use std::fmt;
use std::io::{self, Read};

use md5::Digest as _;

macro_rules! digest_newtype {
    ($name:ident, $len:expr, $label:expr) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;
            pub const ALGORITHM: &'static str = $label;

            pub fn to_hex(&self) -> String {
                to_hex(&self.0)
            }

            /// Parses lower- or upper-case hex of exactly the right length.
            pub fn from_hex(text: &str) -> Option<Self> {
                let mut out = [0u8; $len];
                parse_hex_into(text, &mut out).then_some(Self(out))
            }

            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

digest_newtype!(Md5, 16, "md5");
digest_newtype!(Sha1, 20, "sha1");
digest_newtype!(Sha256, 32, "sha256");

/// The three digests of one byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileDigests {
    pub md5: Md5,
    pub sha1: Sha1,
    pub sha256: Sha256,
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

fn parse_hex_into(text: &str, out: &mut [u8]) -> bool {
    let t = text.as_bytes();
    if t.len() != out.len() * 2 {
        return false;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    for (i, pair) in t.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h << 4) | l,
            _ => return false,
        }
    }
    true
}

pub fn sha256_bytes(data: &[u8]) -> Sha256 {
    Sha256(sha2::Sha256::digest(data).into())
}

/// Incremental MD5 + SHA-1 + SHA-256.
#[derive(Default, Clone)]
pub struct TripleHasher {
    /// OpenSSL's assembly when libcrypto is there (see `md5_libcrypto`), else the crate.
    md5: super::md5_libcrypto::Md5,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
}

impl TripleHasher {
    pub fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        self.sha1.update(chunk);
        self.sha256.update(chunk);
    }

    pub fn finish(self) -> FileDigests {
        FileDigests {
            md5: Md5(self.md5.finalize()),
            sha1: Sha1(self.sha1.finalize().into()),
            sha256: Sha256(self.sha256.finalize().into()),
        }
    }
}

/// Read buffer size. 256 KiB: past 128 KiB the rate on an in-memory buffer stops improving
/// (benches/digest.rs), and smaller reads cost syscalls on 200k-file trees.
pub const READ_CHUNK: usize = 256 * 1024;

/// The buffer a worker reads file contents into: [`READ_CHUNK`] bytes starting on a page
/// boundary.
///
/// Why aligned: the kernel copies page-cache pages (page-aligned) into it with `rep movsb`,
/// and on an AMD EPYC a destination a few bytes past a page boundary made that copy about
/// twice as slow. A fresh 256 KiB `Vec` is where malloc puts it: 16 bytes into an mmap'd
/// page. `examples/digest_floor`'s read-only pass over the bench tree (2 GB, 100,008 files,
/// two threads) took 1.10-1.20 s with the buffer at page offset 8 or 16, 0.52-0.65 s at
/// offsets 0, 32, 48, 64 ... 4032; in a scan's profile the copy was 13 % of the samples.
pub struct ReadBuffer {
    storage: Vec<u8>,
    start: usize,
}

const PAGE: usize = 4096;

impl ReadBuffer {
    pub fn new() -> Self {
        let storage = vec![0u8; READ_CHUNK + PAGE];
        let start = storage.as_ptr().align_offset(PAGE).min(PAGE);
        Self { storage, start }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + READ_CHUNK]
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + READ_CHUNK]
    }
}

/// Files listed below this size are read whole into a buffer of their own and their MD5s
/// taken [`MD5_LANES`] at a time ([`md5_of_many`]); larger ones stream through one buffer.
pub const SMALL_FILE_LIMIT: u64 = READ_CHUNK as u64;

/// Small files whose MD5 is taken together. 16: on 2.5-17.5 KB messages the lanes gave
/// 1,732 MB/s in groups of 8, 2,029 in groups of 16 and 2,125 in groups of 64 (AVX2, this
/// machine); 16 buffers of 256 KiB per worker are 4 MiB.
pub const MD5_LANES: usize = 16;

/// A small file read whole: its length, the length of its first read (what typing saw in
/// the streaming path) and its SHA-1 and SHA-256; the MD5 comes from [`md5_of_many`].
#[derive(Clone, Copy, Debug)]
pub struct SmallRead {
    pub len: usize,
    pub first_read: usize,
    pub sha1: Sha1,
    pub sha256: Sha256,
}

/// Reads a regular file listed at `listed` bytes (below [`SMALL_FILE_LIMIT`]) whole into
/// `buf`, hashing it with SHA-1 and SHA-256 while it is in the cache. `Ok(None)`: the file
/// did not end inside the buffer (it grew since it was listed): read it again the streaming
/// way. As in [`digest_reader_keeping`], a short read that brings the count to the listed
/// size ends the file without a read that returns 0; any other count reads on to the 0.
pub fn read_small<R: Read>(
    mut reader: R,
    buf: &mut ReadBuffer,
    listed: u64,
) -> io::Result<Option<SmallRead>> {
    let window = buf.as_mut_slice();
    let mut len = 0usize;
    let mut first_read = None;
    loop {
        if len == window.len() {
            return Ok(None);
        }
        let n = match reader.read(&mut window[len..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        first_read.get_or_insert(n);
        len += n;
        if len < window.len() && len as u64 == listed {
            break;
        }
    }
    let bytes = &window[..len];
    Ok(Some(SmallRead {
        len,
        first_read: first_read.unwrap_or(0),
        sha1: Sha1(sha1::Sha1::digest(bytes).into()),
        sha256: Sha256(sha2::Sha256::digest(bytes).into()),
    }))
}

/// The MD5 of each input, computed side by side in SIMD lanes where the CPU has them.
pub fn md5_of_many(inputs: &[&[u8]]) -> Vec<Md5> {
    static ENGINE: std::sync::OnceLock<md5_many::Md5Many> = std::sync::OnceLock::new();
    let engine = ENGINE.get_or_init(md5_many::Md5Many::new);
    let mut out = vec![[0u8; 16]; inputs.len()];
    engine.hash_many(inputs, &mut out);
    out.into_iter().map(Md5).collect()
}

impl Default for ReadBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// What one pass over a stream yields: the digests, the byte count and the head for typing.
pub struct ReadOutcome {
    pub digests: FileDigests,
    pub bytes: u64,
    pub head: Vec<u8>,
    /// The whole content, when the caller asked to keep it (see [`digest_reader_keeping`]).
    pub content: Option<Vec<u8>>,
}

/// How many leading bytes are kept for magic-byte typing.
pub const HEAD_LEN: usize = 8192;

/// Reads `reader` to the end once, hashing with all three algorithms and keeping the head.
/// `buf` is reused between files by the caller (one per worker thread).
pub fn digest_reader<R: Read>(
    reader: R,
    buf: &mut ReadBuffer,
    should_stop: &dyn Fn() -> bool,
) -> io::Result<ReadOutcome> {
    digest_reader_keeping(reader, buf, should_stop, &|_| false, None)
}

/// As [`digest_reader`], and also keeps the whole content when `keep` says so on seeing the
/// first chunk (an image that a decoder will need): the file is still read only once.
///
/// `regular_file_of`: the reader is a regular file listed at this size. A read that fills
/// less than the buffer is then the end of the file (POSIX: a short read of a regular file
/// means no more bytes), and once it brings the count to the listed size the read that would
/// return 0 is not made: one system call fewer per small file. Any other count reads on to
/// the 0, so a file that changed size is still read to its end and reported.
pub fn digest_reader_keeping<R: Read>(
    mut reader: R,
    buf: &mut ReadBuffer,
    should_stop: &dyn Fn() -> bool,
    keep: &dyn Fn(&[u8]) -> bool,
    regular_file_of: Option<u64>,
) -> io::Result<ReadOutcome> {
    let buf = buf.as_mut_slice();
    let mut hasher = TripleHasher::default();
    let mut head = Vec::new();
    let mut content: Option<Vec<u8>> = None;
    let mut total = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if head.len() < HEAD_LEN {
            let take = (HEAD_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        if total == 0 && keep(&buf[..n]) {
            content = Some(Vec::new());
        }
        if let Some(c) = content.as_mut() {
            c.extend_from_slice(&buf[..n]);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        if n < buf.len() && regular_file_of == Some(total) {
            break;
        }
        // A 4 GiB file takes seconds: honour Ctrl-C inside it, not only between files.
        if total.is_multiple_of(64 * READ_CHUNK as u64) && should_stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "scan cancelled"));
        }
    }
    Ok(ReadOutcome {
        digests: hasher.finish(),
        bytes: total,
        head,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_gives_the_well_known_digests() {
        let out = digest_reader(&b""[..], &mut ReadBuffer::new(), &|| false).unwrap();
        assert_eq!(out.digests.md5.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            out.digests.sha1.to_hex(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            out.digests.sha256.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(out.bytes, 0);
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let data: Vec<u8> = (0..(READ_CHUNK * 3 + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let whole = {
            let mut h = TripleHasher::default();
            h.update(&data);
            h.finish()
        };
        let out = digest_reader(&data[..], &mut ReadBuffer::new(), &|| false).unwrap();
        assert_eq!(out.digests, whole);
        assert_eq!(out.bytes, data.len() as u64);
        assert_eq!(out.head, data[..HEAD_LEN]);
        assert!(out.content.is_none());
        let kept = digest_reader_keeping(
            &data[..],
            &mut ReadBuffer::new(),
            &|| false,
            &|first| first[0] == data[0],
            None,
        )
        .unwrap();
        assert_eq!(kept.content.as_deref(), Some(&data[..]));
        assert_eq!(kept.digests, whole);
    }

    /// Counts its reads; hands out at most `step` bytes each.
    struct CountingReader<'a> {
        data: &'a [u8],
        step: usize,
        reads: usize,
    }

    impl Read for CountingReader<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = out.len().min(self.step).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_short_read_to_the_listed_size_ends_a_regular_file_and_nothing_else_does() {
        let data = vec![7u8; 10_000];
        let whole = digest_reader(&data[..], &mut ReadBuffer::new(), &|| false).unwrap();
        let read = |listed: Option<u64>, step: usize| {
            let mut r = CountingReader {
                data: &data,
                step,
                reads: 0,
            };
            let out = digest_reader_keeping(
                &mut r,
                &mut ReadBuffer::new(),
                &|| false,
                &|_| false,
                listed,
            )
            .unwrap();
            assert_eq!(out.digests, whole.digests);
            (out.bytes, r.reads)
        };
        // Listed at its size: one read, not two.
        assert_eq!(read(Some(10_000), usize::MAX), (10_000, 1));
        // Not a listed regular file, or listed smaller or larger (it changed): read to the 0.
        assert_eq!(read(None, usize::MAX), (10_000, 2));
        assert_eq!(read(Some(4_000), usize::MAX), (10_000, 2));
        assert_eq!(read(Some(20_000), usize::MAX), (10_000, 2));
        // Short reads before the listed size (a network file system) read on.
        assert_eq!(read(Some(10_000), 3_000), (10_000, 4));
    }

    #[test]
    fn md5_of_many_equals_the_single_stream_md5_at_every_length() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        // Every length around the block and padding edges, then uneven large ones, in groups
        // of uneven size (lanes finishing at different blocks).
        let mut lengths: Vec<usize> = (0..=200).collect();
        lengths.extend([
            511, 512, 513, 4095, 4096, 4097, 10_000, 65_535, 65_536, 262_143,
        ]);
        lengths.extend((0..40).map(|i| (i * 7_919 + 13) % 262_144));
        for group in [1usize, 3, MD5_LANES, 37] {
            for chunk in lengths.chunks(group) {
                let inputs: Vec<&[u8]> = chunk
                    .iter()
                    .enumerate()
                    .map(|(k, &len)| &data[k * 11..k * 11 + len])
                    .collect();
                let many = md5_of_many(&inputs);
                for (input, got) in inputs.iter().zip(&many) {
                    let mut one = super::super::md5_libcrypto::Md5::default();
                    one.update(input);
                    let want: [u8; 16] = md5::Md5::digest(input).into();
                    assert_eq!(got.0, want, "length {}", input.len());
                    assert_eq!(one.finalize(), want, "length {}", input.len());
                }
            }
        }
    }

    #[test]
    fn a_small_read_matches_the_streaming_read_and_gives_up_on_a_file_that_grew() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let streamed = digest_reader(&data[..], &mut ReadBuffer::new(), &|| false).unwrap();
        let mut buf = ReadBuffer::new();
        let mut r = CountingReader {
            data: &data,
            step: usize::MAX,
            reads: 0,
        };
        let small = read_small(&mut r, &mut buf, data.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(r.reads, 1, "a read to the listed size ends it");
        assert_eq!((small.len, small.first_read), (data.len(), data.len()));
        assert_eq!(small.sha1, streamed.digests.sha1);
        assert_eq!(small.sha256, streamed.digests.sha256);
        assert_eq!(
            md5_of_many(&[&buf.as_slice()[..small.len]])[0],
            streamed.digests.md5
        );
        // Listed smaller than it is (it grew): read on to the 0.
        let mut r = CountingReader {
            data: &data,
            step: 30_000,
            reads: 0,
        };
        let small = read_small(&mut r, &mut buf, 1_000).unwrap().unwrap();
        assert_eq!(
            (small.len, small.first_read, r.reads),
            (data.len(), 30_000, 5)
        );
        // Grown past the buffer: not a small file after all.
        let big = vec![1u8; READ_CHUNK + 1];
        assert!(read_small(&big[..], &mut buf, 10).unwrap().is_none());
        let exactly = vec![1u8; READ_CHUNK];
        assert!(read_small(&exactly[..], &mut buf, 10).unwrap().is_none());
    }

    #[test]
    fn the_read_buffer_starts_on_a_page_and_holds_a_chunk() {
        for _ in 0..4 {
            let mut b = ReadBuffer::new();
            let s = b.as_mut_slice();
            assert_eq!(s.as_ptr() as usize % PAGE, 0);
            assert_eq!(s.len(), READ_CHUNK);
        }
    }

    #[test]
    fn hex_round_trip_accepts_upper_case_and_rejects_bad_lengths() {
        let d = Md5::from_hex("D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(d.to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(Md5::from_hex("d41d8cd98f00b204e9800998ecf8427").is_none());
        assert!(Md5::from_hex("g41d8cd98f00b204e9800998ecf8427e").is_none());
        assert!(Sha1::from_hex("d41d8cd98f00b204e9800998ecf8427e").is_none());
    }
}
