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

/// Large files streamed side by side: at most this many at once, a buffer each, their MD5s
/// taken together in SIMD lanes (8 with AVX2). See [`stream_side_by_side`].
pub const STREAM_LANES: usize = 8;

/// Files of at least [`SMALL_FILE_LIMIT`] go to batches of their own, streamed side by side
/// by one worker, so that their MD5s can share the lanes: closed at twice the lanes (a lane
/// freed by a file that ends takes the next) or at this many bytes. Larger than a batch of
/// small files on purpose (eight 125 MB files have to meet in a worker to fill its lanes),
/// and not larger, because the last such batch of a scan may keep one core busy while the
/// other waits. On the bench tree (eight 125 MB files, warm): at 1 GiB (one batch of eight)
/// a scan took 4.53-4.67 s wall for 6.7 CPU-s (a core idle ~2.4 s of it); at 512 MiB (two
/// batches of four, one per worker) 3.91-4.43 s.
pub const SIDE_BY_SIDE_BATCH_FILES: usize = 2 * STREAM_LANES;
pub const SIDE_BY_SIDE_BATCH_BYTES: u64 = 512 << 20;

/// A file of a side-by-side group takes its MD5 in a lane only when at least this many
/// streams will share the lanes. Lanes left free are filled with copies, so a call costs what
/// eight streams cost: 3 streams get 3/8 of the 2,475 MB/s that 8 measured (~930 MB/s),
/// already more than OpenSSL's one stream (~605); 2 would get ~620, no gain.
pub const MIN_LANE_STREAMS: usize = 3;

/// Content kept in memory by the streams of one side-by-side group at once. A stream that
/// asks to keep its content (a picture to decode) past this is read to its end at once,
/// alone, so a group holds at most this much beside the one file a single stream may hold.
pub const SIDE_BY_SIDE_KEEP_BUDGET: u64 = 64 << 20;

/// Why a file of a side-by-side group has no digests.
#[derive(Debug)]
pub enum StreamFailure {
    Open(io::Error),
    Read(io::Error),
}

/// What [`stream_side_by_side`] hands over for each file, as soon as it is done.
pub type StreamResult = Result<ReadOutcome, StreamFailure>;

enum StreamMd5 {
    /// Taken with the other streams in SIMD lanes.
    Lane(md5_many::Md5State),
    /// Taken alone with OpenSSL's assembly: too few streams to fill the lanes.
    Alone(super::md5_libcrypto::Md5),
}

struct Stream<R> {
    index: usize,
    reader: R,
    listed: u64,
    total: u64,
    head: Vec<u8>,
    content: Option<Vec<u8>>,
    /// Counted in the group's keep budget.
    budgeted: bool,
    md5: StreamMd5,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    /// The last read's bytes in this stream's buffer, and how many of them its MD5 has
    /// taken: the next read comes only when it has taken them all.
    pending: usize,
    taken: usize,
    ended: bool,
}

impl<R: Read> Stream<R> {
    /// One read into `buf`: head, content and the SHAs take it now, the MD5 when the lanes
    /// run. `Ok(true)`: the stream wants its content kept and the group's budget is spent.
    fn read_once(
        &mut self,
        buf: &mut [u8],
        keep: &dyn Fn(usize, &[u8]) -> bool,
        kept_listed: &mut u64,
    ) -> io::Result<bool> {
        let n = loop {
            match self.reader.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.pending = n;
        self.taken = 0;
        if n == 0 {
            self.ended = true;
            return Ok(false);
        }
        let chunk = &buf[..n];
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(n);
            self.head.extend_from_slice(&chunk[..take]);
        }
        let mut over_budget = false;
        if self.total == 0 && keep(self.index, chunk) {
            self.content = Some(Vec::new());
            if *kept_listed + self.listed > SIDE_BY_SIDE_KEEP_BUDGET {
                over_budget = true;
            } else {
                *kept_listed += self.listed;
                self.budgeted = true;
            }
        }
        if let Some(c) = self.content.as_mut() {
            c.extend_from_slice(chunk);
        }
        sha1::Digest::update(&mut self.sha1, chunk);
        sha2::Digest::update(&mut self.sha256, chunk);
        self.total += n as u64;
        // As in `digest_reader_keeping`: a short read to the listed size ends a regular file.
        if n < buf.len() && self.total == self.listed {
            self.ended = true;
        }
        Ok(over_budget)
    }

    /// Reads the rest alone, its MD5 with OpenSSL's assembly (called before its lane took
    /// any byte).
    fn read_to_end_alone(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut md5 = super::md5_libcrypto::Md5::default();
        md5.update(&buf[..self.pending]);
        while !self.ended {
            self.read_once(buf, &|_, _| false, &mut 0)?;
            md5.update(&buf[..self.pending]);
        }
        self.md5 = StreamMd5::Alone(md5);
        self.taken = self.pending;
        Ok(())
    }

    fn finish(self) -> ReadOutcome {
        let md5 = match self.md5 {
            StreamMd5::Lane(state) => state.finalize(),
            StreamMd5::Alone(h) => h.finalize(),
        };
        ReadOutcome {
            digests: FileDigests {
                md5: Md5(md5),
                sha1: Sha1(sha1::Digest::finalize(self.sha1).into()),
                sha256: Sha256(sha2::Digest::finalize(self.sha256).into()),
            },
            bytes: self.total,
            head: self.head,
            content: self.content,
        }
    }
}

/// Reads files `0..count` (each a regular file listed at `listed(i)` bytes) to their ends,
/// up to [`STREAM_LANES`] at once, one read from each in turn, taking all three digests in
/// the same pass and keeping head and content as [`digest_reader_keeping`] does. A file is
/// opened (`open(i)`) only when a lane is free, and handed to `finished` as soon as it is
/// done, so the caller can examine it and drop its content before the group ends.
///
/// Why: MD5 is a chain within one stream, so one stream cannot go faster than OpenSSL's
/// assembly (~605 MB/s a core here), and MD5 of the large files was the largest single cost
/// left in a scan of the bench tree (18 % of the samples). Independent streams can share
/// SIMD lanes. `md5-many`'s `update_many` on this machine (AVX2, 8 lanes, 256 KiB chunks):
/// 8 chunks of equal length 2,475-2,582 MB/s; 16 equal 2,670; but 5, 6 or 7 streams
/// 82-117 MB/s, and 8 of unequal lengths 143-333 MB/s (its mixed-length path). So every call
/// here is 8 chunks of one length, a multiple of 64 bytes: each round the lanes take the
/// length all streams still have in their buffers; a stream reads again only when its lane
/// has taken its whole buffer; a free lane is filled with a copy of another's bytes, its
/// digest thrown away; a file's last bytes under one block go in on its own. A file opened
/// when fewer than [`MIN_LANE_STREAMS`] streams would share the lanes takes its MD5 alone,
/// with OpenSSL's assembly, as before.
///
/// `Err(Interrupted)` when `should_stop` says so (checked between rounds); the files not yet
/// handed to `finished` are then not done.
pub fn stream_side_by_side<R: Read>(
    count: usize,
    listed: &dyn Fn(usize) -> u64,
    open: &mut dyn FnMut(usize) -> io::Result<R>,
    buffers: &mut Vec<ReadBuffer>,
    should_stop: &dyn Fn() -> bool,
    keep: &dyn Fn(usize, &[u8]) -> bool,
    finished: &mut dyn FnMut(usize, StreamResult),
) -> io::Result<()> {
    static ENGINE: std::sync::OnceLock<md5_many::Md5Many> = std::sync::OnceLock::new();
    let engine = *ENGINE.get_or_init(md5_many::Md5Many::new);
    let lanes = STREAM_LANES.min(count);
    while buffers.len() < lanes {
        buffers.push(ReadBuffer::new());
    }
    let mut slots: Vec<Option<Stream<R>>> = (0..lanes).map(|_| None).collect();
    let mut next = 0usize;
    let mut kept_listed = 0u64;
    let mut states: Vec<md5_many::Md5State> = Vec::with_capacity(STREAM_LANES);
    let mut owners: Vec<usize> = Vec::with_capacity(STREAM_LANES);
    loop {
        // Fill free lanes with the next files that open.
        for k in 0..slots.len() {
            while slots[k].is_none() && next < count {
                let index = next;
                next += 1;
                match open(index) {
                    Err(e) => finished(index, Err(StreamFailure::Open(e))),
                    Ok(reader) => {
                        let others = slots.iter().filter(|s| s.is_some()).count();
                        let md5 = if others + (count - index) >= MIN_LANE_STREAMS {
                            StreamMd5::Lane(md5_many::Md5State::new())
                        } else {
                            StreamMd5::Alone(Default::default())
                        };
                        slots[k] = Some(Stream {
                            index,
                            reader,
                            listed: listed(index),
                            total: 0,
                            head: Vec::new(),
                            content: None,
                            budgeted: false,
                            md5,
                            sha1: Default::default(),
                            sha256: Default::default(),
                            pending: 0,
                            taken: 0,
                            ended: false,
                        });
                    }
                }
            }
        }
        if slots.iter().all(Option::is_none) {
            return Ok(());
        }
        if should_stop() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "scan cancelled"));
        }
        // A read from each stream whose lane has taken its buffer.
        for (k, slot) in slots.iter_mut().enumerate() {
            let Some(stream) = slot.as_mut() else {
                continue;
            };
            if stream.ended || stream.taken < stream.pending {
                continue;
            }
            let buf = buffers[k].as_mut_slice();
            let read = stream
                .read_once(buf, keep, &mut kept_listed)
                .and_then(|over_budget| match over_budget {
                    true => stream.read_to_end_alone(buf),
                    false => Ok(()),
                });
            match read {
                Err(e) => {
                    if stream.budgeted {
                        kept_listed -= stream.listed;
                    }
                    let index = stream.index;
                    *slot = None;
                    finished(index, Err(StreamFailure::Read(e)));
                }
                Ok(()) => {
                    if let StreamMd5::Alone(h) = &mut stream.md5 {
                        h.update(&buf[stream.taken..stream.pending]);
                        stream.taken = stream.pending;
                    }
                }
            }
        }
        // The lanes: the same whole blocks from every stream that has bytes waiting.
        let waiting = |s: &Stream<R>| matches!(s.md5, StreamMd5::Lane(_)) && s.taken < s.pending;
        let common = slots
            .iter()
            .flatten()
            .filter(|s| waiting(s))
            .map(|s| s.pending - s.taken)
            .min()
            .unwrap_or(0)
            & !63;
        if common > 0 {
            states.clear();
            owners.clear();
            let mut inputs: Vec<&[u8]> = Vec::with_capacity(STREAM_LANES);
            for (k, slot) in slots.iter().enumerate() {
                if let Some(s) = slot.as_ref().filter(|s| waiting(s))
                    && let StreamMd5::Lane(state) = &s.md5
                {
                    states.push(*state);
                    owners.push(k);
                    inputs.push(&buffers[k].as_slice()[s.taken..s.taken + common]);
                }
            }
            while inputs.len() < STREAM_LANES {
                states.push(md5_many::Md5State::new());
                inputs.push(inputs[0]);
            }
            engine.update_many(&mut states, &inputs);
            for (state, &k) in states.iter().zip(&owners) {
                if let Some(s) = slots[k].as_mut() {
                    s.md5 = StreamMd5::Lane(*state);
                    s.taken += common;
                }
            }
        }
        // A stream's bytes short of a block (its last, or after a short read) on its own.
        for (k, slot) in slots.iter_mut().enumerate() {
            if let Some(s) = slot.as_mut()
                && let StreamMd5::Lane(state) = &mut s.md5
                && s.taken < s.pending
                && s.pending - s.taken < 64
            {
                state.update(&buffers[k].as_slice()[s.taken..s.pending]);
                s.taken = s.pending;
            }
        }
        for slot in slots.iter_mut() {
            if slot
                .as_ref()
                .is_some_and(|s| s.ended && s.taken == s.pending)
            {
                let stream = slot.take().expect("checked");
                if stream.budgeted {
                    kept_listed -= stream.listed;
                }
                let index = stream.index;
                finished(index, Ok(stream.finish()));
            }
        }
    }
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

    /// A reader over `data` that hands out at most `step` bytes a read and fails once it has
    /// handed out `fail_after` bytes.
    struct StepReader {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail_after: Option<usize>,
    }

    impl Read for StepReader {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.fail_after.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("bad sector"));
            }
            let n = out.len().min(self.step).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn file_bytes(index: usize, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 7) as u8 ^ index as u8)
            .collect()
    }

    fn one_stream(data: &[u8]) -> FileDigests {
        let mut h = TripleHasher::default();
        h.update(data);
        h.finish()
    }

    /// Streams files of `sizes` side by side; `step(i)` is file i's largest read. Returns
    /// what `finished` got, by index.
    fn side_by_side(
        sizes: &[usize],
        step: &dyn Fn(usize) -> usize,
        fail: &dyn Fn(usize) -> Option<Result<(), usize>>,
        keep: &dyn Fn(usize, &[u8]) -> bool,
        listed: &dyn Fn(usize) -> u64,
    ) -> Vec<Option<StreamResult>> {
        let mut got: Vec<Option<StreamResult>> = (0..sizes.len()).map(|_| None).collect();
        // fail(i): Some(Ok(())) the open fails, Some(Err(n)) a read fails after n bytes.
        let mut open = |i: usize| match fail(i) {
            Some(Ok(())) => Err(io::Error::other("permission denied")),
            other => Ok(StepReader {
                data: file_bytes(i, sizes[i]),
                at: 0,
                step: step(i),
                fail_after: other.and_then(Result::err),
            }),
        };
        stream_side_by_side(
            sizes.len(),
            listed,
            &mut open,
            &mut Vec::new(),
            &|| false,
            keep,
            &mut |i, r| {
                assert!(got[i].is_none(), "file {i} handed over twice");
                got[i] = Some(r);
            },
        )
        .unwrap();
        got
    }

    #[test]
    fn files_streamed_side_by_side_get_the_digests_of_one_stream_each() {
        let c = READ_CHUNK;
        let groups: Vec<Vec<usize>> = vec![
            vec![300_000; 8],
            vec![c; 8],
            vec![
                c,
                c + 1,
                1_000_000,
                2 * c + 13,
                c + 63,
                c + 64,
                700_001,
                3 * c,
                c + 5,
            ],
            vec![400_000, c + 100, 5 * c - 1],
            (0..17).map(|i| c + i * 37_813 % 900_000).collect(),
            vec![2_000_000, c, c, c, c, c, c, c, c, c, c],
            vec![],
        ];
        let steps: [&dyn Fn(usize) -> usize; 3] = [&|_| usize::MAX, &|_| 100_003, &|i| {
            if i % 2 == 0 { usize::MAX } else { 65_537 + i }
        }];
        for sizes in &groups {
            for step in steps {
                let got = side_by_side(sizes, step, &|_| None, &|_, _| false, &|i| sizes[i] as u64);
                for (i, r) in got.into_iter().enumerate() {
                    let data = file_bytes(i, sizes[i]);
                    let out = r.expect("every file handed over").expect("read");
                    assert_eq!(out.digests, one_stream(&data), "file {i} of {sizes:?}");
                    assert_eq!(out.bytes, data.len() as u64);
                    assert_eq!(out.head, data[..HEAD_LEN]);
                    assert!(out.content.is_none());
                }
            }
        }
    }

    #[test]
    fn side_by_side_keeps_content_reports_each_failure_and_loses_no_other_file() {
        let sizes = [
            500_000, 300_000, 900_000, 270_000, 1_200_000, 600_000, 610_000, 280_000, 450_000,
        ];
        // File 2 cannot be opened, file 5 fails after 300,000 bytes; 0, 3 and 6 are kept,
        // and 6 is listed past the group's budget (read to its end alone).
        let fail = |i: usize| match i {
            2 => Some(Ok(())),
            5 => Some(Err(300_000)),
            _ => None,
        };
        let keep = |i: usize, first: &[u8]| {
            assert_eq!(first, &file_bytes(i, first.len())[..]);
            i.is_multiple_of(3)
        };
        let listed = |i: usize| match i {
            6 => SIDE_BY_SIDE_KEEP_BUDGET + 1,
            _ => sizes[i] as u64,
        };
        let got = side_by_side(&sizes, &|_| usize::MAX, &fail, &keep, &listed);
        for (i, r) in got.into_iter().enumerate() {
            let data = file_bytes(i, sizes[i]);
            match (i, r.expect("every file handed over")) {
                (2, Err(StreamFailure::Open(e))) => assert!(e.to_string().contains("permission")),
                (5, Err(StreamFailure::Read(e))) => assert!(e.to_string().contains("bad sector")),
                (2 | 5, other) => panic!("file {i}: {:?}", other.map(|o| o.bytes)),
                (_, Err(e)) => panic!("file {i}: {e:?}"),
                (_, Ok(out)) => {
                    assert_eq!(out.digests, one_stream(&data), "file {i}");
                    assert_eq!(out.content.is_some(), i % 3 == 0, "file {i}");
                    if let Some(content) = out.content {
                        assert_eq!(content, data, "file {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn side_by_side_stops_when_told_and_hands_over_only_whole_files() {
        let sizes = [2_000_000usize; 9];
        let rounds = std::cell::Cell::new(0);
        let mut handed = Vec::new();
        let mut open = |i: usize| -> io::Result<&[u8]> {
            let _ = i;
            Ok(&[][..])
        };
        // Nothing to read: every file ends at once and is handed over.
        stream_side_by_side(
            3,
            &|_| 0,
            &mut open,
            &mut Vec::new(),
            &|| false,
            &|_, _| false,
            &mut |i, r| handed.push((i, r.unwrap().digests)),
        )
        .unwrap();
        assert_eq!(handed.len(), 3);
        assert!(handed.iter().all(|(_, d)| *d == one_stream(b"")));
        let data: Vec<Vec<u8>> = (0..9).map(|i| file_bytes(i, sizes[i])).collect();
        let mut open = |i: usize| Ok(&data[i][..]);
        let mut finished = 0;
        let stopped = stream_side_by_side(
            sizes.len(),
            &|i| sizes[i] as u64,
            &mut open,
            &mut Vec::new(),
            &|| {
                rounds.set(rounds.get() + 1);
                rounds.get() > 3
            },
            &|_, _| false,
            &mut |_, _| finished += 1,
        );
        assert_eq!(stopped.unwrap_err().kind(), io::ErrorKind::Interrupted);
        assert_eq!(finished, 0, "no file was read to its end before the stop");
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
