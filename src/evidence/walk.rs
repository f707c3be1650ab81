//! Walking an evidence source without ever following a link or opening a special file.
//!
//! Takes a source root; produces one [`WalkEntry`] per directory entry (files, directories,
//! symlinks, FIFOs, sockets, devices) or a [`WalkFailure`] with the path and the reason.
//!
//! Why not `walkdir`: it opens every directory by its full path, so a tree deeper than
//! PATH_MAX (4096 bytes) stops with ENAMETOOLONG and everything below is lost, and a
//! directory swapped for a symlink between listing and opening is followed. Here every
//! directory is opened relative to its parent's descriptor with `O_NOFOLLOW`, so path length
//! is unlimited and nothing outside the source is ever reached. Symlinks are recorded with
//! their target and never followed, so loops cannot occur; bind-mount loops are caught by the
//! (device, inode) set of the directories on the current path.
//!
//! Files are opened by [`open_regular_file`] relative to the source root with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` and `O_NONBLOCK` (so a FIFO swapped in after the
//! listing cannot block), then checked with `fstat` to still be a regular file.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, StatxFlags};

/// Deepest directory nesting that is descended. Each level holds one descriptor open; the
/// default soft limit of open files is 1024.
pub const MAX_DEPTH: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
            EntryKind::CharDevice => "char-device",
            EntryKind::BlockDevice => "block-device",
            EntryKind::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> EntryKind {
        match s {
            "file" => EntryKind::File,
            "dir" => EntryKind::Dir,
            "symlink" => EntryKind::Symlink,
            "fifo" => EntryKind::Fifo,
            "socket" => EntryKind::Socket,
            "char-device" => EntryKind::CharDevice,
            "block-device" => EntryKind::BlockDevice,
            _ => EntryKind::Unknown,
        }
    }

    fn from_mode(mode: u32) -> EntryKind {
        match mode & 0o170000 {
            0o100000 => EntryKind::File,
            0o040000 => EntryKind::Dir,
            0o120000 => EntryKind::Symlink,
            0o010000 => EntryKind::Fifo,
            0o140000 => EntryKind::Socket,
            0o020000 => EntryKind::CharDevice,
            0o060000 => EntryKind::BlockDevice,
            _ => EntryKind::Unknown,
        }
    }
}

/// A point in time as the file system reported it (seconds and nanoseconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

/// Length of [`Timestamp::rfc3339_in`]'s text for years 0..=9999.
pub const RFC3339_LEN: usize = 30;

impl Timestamp {
    /// RFC 3339 in UTC with nanoseconds, e.g. `2024-03-01T12:00:00.123456789Z`.
    pub fn to_rfc3339(self) -> String {
        let mut buf = [0u8; RFC3339_LEN];
        self.rfc3339_in(&mut buf).to_string()
    }

    /// The same text written into `buf`, without allocating: the store writes four per item
    /// (`format!` for each was 1.5-2 % of a 100,000-small-file scan's CPU, in the writer
    /// thread). Years outside 0..=9999 take the general path.
    pub fn rfc3339_in(self, buf: &mut [u8; RFC3339_LEN]) -> std::borrow::Cow<'_, str> {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) || self.nanos >= 1_000_000_000 {
            return std::borrow::Cow::Owned(self.rfc3339_general());
        }
        fn digits(out: &mut [u8], mut value: u64) {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        digits(&mut buf[0..4], y as u64);
        buf[4] = b'-';
        digits(&mut buf[5..7], m as u64);
        buf[7] = b'-';
        digits(&mut buf[8..10], d as u64);
        buf[10] = b'T';
        digits(&mut buf[11..13], (rem / 3600) as u64);
        buf[13] = b':';
        digits(&mut buf[14..16], (rem % 3600 / 60) as u64);
        buf[16] = b':';
        digits(&mut buf[17..19], (rem % 60) as u64);
        buf[19] = b'.';
        digits(&mut buf[20..29], self.nanos as u64);
        buf[29] = b'Z';
        // Every byte written above is ASCII.
        std::borrow::Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
    }

    fn rfc3339_general(self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            self.nanos
        )
    }

    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// What `statx` said about one entry, without following it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
    pub device: u64,
    pub nlink: u64,
    pub mtime: Option<Timestamp>,
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    /// Birth time, when the file system keeps one.
    pub btime: Option<Timestamp>,
}

/// One entry of a source, with its path relative to the source root, byte-exact.
#[derive(Clone, Debug)]
pub struct WalkEntry {
    pub rel_path: Vec<u8>,
    pub meta: EntryMeta,
    /// For symlinks: the target as stored, never resolved.
    pub link_target: Option<Vec<u8>>,
}

/// A place the walk could not look into; the walk goes on past it.
#[derive(Clone, Debug)]
pub struct WalkFailure {
    pub rel_path: Vec<u8>,
    pub reason: String,
}

pub enum WalkEvent {
    Entry(WalkEntry),
    Failure(WalkFailure),
}

fn statx_meta(dirfd: impl AsFd, name: &CStr) -> io::Result<EntryMeta> {
    let st = rustix::fs::statx(
        dirfd,
        name,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        StatxFlags::BASIC_STATS | StatxFlags::BTIME,
    )?;
    let ts = |t: rustix::fs::StatxTimestamp, flag: StatxFlags| {
        (st.stx_mask & flag.bits() != 0).then_some(Timestamp {
            secs: t.tv_sec,
            nanos: t.tv_nsec,
        })
    };
    Ok(EntryMeta {
        kind: EntryKind::from_mode(st.stx_mode as u32),
        size: st.stx_size,
        mode: st.stx_mode as u32 & 0o7777,
        uid: st.stx_uid,
        gid: st.stx_gid,
        inode: st.stx_ino,
        // Encoded as stat(2)'s st_dev, so it compares with fstat of an opened directory.
        device: rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
        nlink: st.stx_nlink as u64,
        mtime: ts(st.stx_mtime, StatxFlags::MTIME),
        atime: ts(st.stx_atime, StatxFlags::ATIME),
        ctime: ts(st.stx_ctime, StatxFlags::CTIME),
        btime: ts(st.stx_btime, StatxFlags::BTIME),
    })
}

/// Opens a directory read-only without following a link, trying `O_NOATIME` first.
fn open_dir_at(parent: impl AsFd + Copy, name: &CStr) -> io::Result<OwnedFd> {
    let base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(parent, name, base | OFlags::NOATIME, Mode::empty()) {
        // O_NOATIME is refused for files the caller does not own (unless privileged).
        Err(rustix::io::Errno::PERM) => Ok(rustix::fs::openat(parent, name, base, Mode::empty())?),
        other => Ok(other?),
    }
}

pub fn open_root(root: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(root.as_os_str()))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    open_dir_at(rustix::fs::CWD, &c)
}

fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    if prefix.is_empty() {
        return name.to_vec();
    }
    let mut p = Vec::with_capacity(prefix.len() + 1 + name.len());
    p.extend_from_slice(prefix);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

fn read_names(fd: &OwnedFd) -> io::Result<Vec<CString>> {
    let mut dir = rustix::fs::Dir::read_from(fd)?;
    let mut names = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        names.push(name.to_owned());
    }
    names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// The directories from the source root down to the one being listed, as (device, inode):
/// a directory already on this chain is a loop (possible with bind mounts, never with
/// symlinks, which are not followed).
struct Ancestor {
    id: (u64, u64),
    parent: Option<Arc<Ancestor>>,
}

impl Ancestor {
    fn contains(self: &Arc<Self>, id: (u64, u64)) -> bool {
        let mut cur = Some(self);
        while let Some(a) = cur {
            if a.id == id {
                return true;
            }
            cur = a.parent.as_ref();
        }
        false
    }
}

/// Receives each directory's events at once (entries in byte order of their names, then the
/// failures met while listing it). Called from several walker threads at a time.
pub type Sink<'a> = &'a (dyn Fn(Vec<WalkEvent>) + Sync);

/// Walks the tree below `root_fd` with directories listed in parallel on a pool of `threads`
/// of its own (never rayon's global pool: a walker blocked on a full queue must not take a
/// thread from the workers that empty it). Directories are visited in no fixed order; each
/// directory's entries come in byte order. Stops early when `stop` is set.
///
/// Open descriptors: a directory's descriptor stays open until each of its subdirectories
/// has been opened from it, so about `threads` x depth are open at once.
pub fn walk(root_fd: &OwnedFd, stop: &AtomicBool, threads: usize, sink: Sink) {
    let fail = |reason: String| {
        sink(vec![WalkEvent::Failure(WalkFailure {
            rel_path: Vec::new(),
            reason,
        })])
    };
    let root_stat = match rustix::fs::fstat(root_fd) {
        Ok(s) => s,
        Err(e) => return fail(format!("stat source root: {e}")),
    };
    let root = match rustix::io::dup(root_fd) {
        Ok(fd) => fd,
        Err(e) => return fail(format!("dup source root: {e}")),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("spoor-walk-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(e) => return fail(format!("walker threads: {e}")),
    };
    let ancestors = Arc::new(Ancestor {
        id: (root_stat.st_dev, root_stat.st_ino),
        parent: None,
    });
    pool.scope(|scope| list_dir(scope, root, Vec::new(), ancestors, 1, stop, sink));
}

fn list_dir<'s>(
    scope: &rayon::Scope<'s>,
    fd: OwnedFd,
    prefix: Vec<u8>,
    ancestors: Arc<Ancestor>,
    depth: usize,
    stop: &'s AtomicBool,
    sink: Sink<'s>,
) {
    if stop.load(Ordering::Relaxed) {
        return;
    }
    let names = match read_names(&fd) {
        Ok(n) => n,
        Err(e) => {
            let reason = if prefix.is_empty() {
                format!("list source root: {e}")
            } else {
                format!("list directory: {e}")
            };
            return sink(vec![WalkEvent::Failure(WalkFailure {
                rel_path: prefix,
                reason,
            })]);
        }
    };
    let mut events = Vec::with_capacity(names.len());
    let mut failures = Vec::new();
    let mut subdirs = Vec::new();
    for name in names {
        let rel = join(&prefix, name.as_bytes());
        let meta = match statx_meta(&fd, &name) {
            Ok(m) => m,
            Err(e) => {
                // Deleted between listing and stat, or unreadable: a record, not a silent skip.
                failures.push(WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason: format!("stat: {e}"),
                }));
                continue;
            }
        };
        let link_target = if meta.kind == EntryKind::Symlink {
            match rustix::fs::readlinkat(&fd, &*name, Vec::new()) {
                Ok(t) => Some(t.into_bytes()),
                Err(e) => {
                    failures.push(WalkEvent::Failure(WalkFailure {
                        rel_path: rel.clone(),
                        reason: format!("readlink: {e}"),
                    }));
                    None
                }
            }
        } else {
            None
        };
        if meta.kind == EntryKind::Dir {
            if depth >= MAX_DEPTH {
                failures.push(WalkEvent::Failure(WalkFailure {
                    rel_path: rel.clone(),
                    reason: format!(
                        "directory nesting deeper than {MAX_DEPTH} levels; not descended"
                    ),
                }));
            } else {
                subdirs.push((name, rel.clone(), (meta.device, meta.inode)));
            }
        }
        events.push(WalkEvent::Entry(WalkEntry {
            rel_path: rel,
            meta,
            link_target,
        }));
    }
    events.extend(failures);
    sink(events);
    let fd = Arc::new(fd);
    for (name, rel, listed_id) in subdirs {
        let (parent, ancestors) = (fd.clone(), ancestors.clone());
        scope.spawn(move |scope| {
            let fail = |rel: Vec<u8>, reason: String| {
                sink(vec![WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason,
                })])
            };
            let child = match open_dir_at(&*parent, &name) {
                Ok(fd) => fd,
                Err(e) => return fail(rel, format!("open directory: {e}")),
            };
            drop(parent);
            // Compare the opened directory with what was listed: a swap in between is refused.
            let id = match rustix::fs::fstat(&child) {
                Ok(s) => (s.st_dev, s.st_ino),
                Err(e) => return fail(rel, format!("stat directory: {e}")),
            };
            if id != listed_id {
                return fail(
                    rel,
                    "directory replaced between listing and opening; not descended".into(),
                );
            }
            if ancestors.contains(id) {
                return fail(
                    rel,
                    "directory loop (same device and inode as an ancestor); not descended".into(),
                );
            }
            let chain = Arc::new(Ancestor {
                id,
                parent: Some(ancestors),
            });
            list_dir(scope, child, rel, chain, depth + 1, stop, sink);
        });
    }
}

/// Paths shorter than this go to one `openat2` call; longer ones are opened component by
/// component (the kernel refuses path arguments of PATH_MAX bytes and more).
const SINGLE_CALL_PATH_LIMIT: usize = 4000;

static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

fn file_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC
}

fn open_noatime_fallback(
    open: impl Fn(OFlags) -> rustix::io::Result<OwnedFd>,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    match open(flags | OFlags::NOATIME) {
        Err(rustix::io::Errno::PERM) => Ok(open(flags)?),
        other => Ok(other?),
    }
}

/// Opens `rel_path` under the source root for reading: never through a symlink, never
/// outside the root, never blocking, and only if it is (still) a regular file.
pub fn open_regular_file(root_fd: &OwnedFd, rel_path: &[u8]) -> io::Result<File> {
    let fd = if rel_path.len() < SINGLE_CALL_PATH_LIMIT && !OPENAT2_MISSING.load(Ordering::Relaxed)
    {
        let c = CString::new(rel_path)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match open_noatime_fallback(
            |f| rustix::fs::openat2(root_fd, &*c, f, Mode::empty(), resolve),
            file_flags(),
        ) {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOSYS.raw_os_error()) => {
                OPENAT2_MISSING.store(true, Ordering::Relaxed);
                open_by_components(root_fd, rel_path)?
            }
            other => other?,
        }
    } else {
        open_by_components(root_fd, rel_path)?
    };
    let st = rustix::fs::fstat(&fd)?;
    if EntryKind::from_mode(st.st_mode as u32) != EntryKind::File {
        return Err(io::Error::other(
            "no longer a regular file (changed since it was listed)",
        ));
    }
    Ok(File::from(fd))
}

fn open_by_components(root_fd: &OwnedFd, rel_path: &[u8]) -> io::Result<OwnedFd> {
    let mut parts = rel_path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .peekable();
    let mut current: Option<OwnedFd> = None;
    while let Some(part) = parts.next() {
        if part == b".." || part == b"." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path component . or ..",
            ));
        }
        let c = CString::new(part)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        let parent = current.as_ref().unwrap_or(root_fd);
        let next = if parts.peek().is_some() {
            open_dir_at(parent, &c)?
        } else {
            open_noatime_fallback(
                |f| rustix::fs::openat(parent, &*c, f, Mode::empty()),
                file_flags(),
            )?
        };
        current = Some(next);
    }
    current.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (entry paths sorted, (path, reason) of each failure)
    type Walked = (Vec<Vec<u8>>, Vec<(Vec<u8>, String)>);

    fn walk_all(root: &Path) -> Walked {
        let fd = open_root(root).unwrap();
        let events = std::sync::Mutex::new(Vec::new());
        walk(&fd, &AtomicBool::new(false), 3, &|batch| {
            events.lock().unwrap().extend(batch)
        });
        let (mut entries, mut failures) = (Vec::new(), Vec::new());
        for e in events.into_inner().unwrap() {
            match e {
                WalkEvent::Entry(e) => entries.push(e.rel_path),
                WalkEvent::Failure(f) => failures.push((f.rel_path, f.reason)),
            }
        }
        entries.sort();
        (entries, failures)
    }

    #[test]
    fn every_entry_once_and_nesting_past_the_limit_is_a_failure_not_a_silent_stop() {
        let tmp = tempfile::tempdir().unwrap();
        let deep: std::path::PathBuf = std::iter::repeat_n("d", MAX_DEPTH + 3).collect();
        std::fs::create_dir_all(tmp.path().join(&deep)).unwrap();
        for i in 0..50 {
            std::fs::create_dir_all(tmp.path().join(format!("wide/{i}"))).unwrap();
            std::fs::write(tmp.path().join(format!("wide/{i}/f")), b"x").unwrap();
        }
        let (entries, failures) = walk_all(tmp.path());
        assert_eq!(
            entries.iter().filter(|p| p.starts_with(b"wide/")).count(),
            100
        );
        let deepest = entries
            .iter()
            .filter(|p| p.starts_with(b"d"))
            .map(|p| p.len())
            .max()
            .unwrap();
        assert_eq!(deepest, MAX_DEPTH * 2 - 1, "listed down to the limit");
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].1.contains("deeper than"));
        let mut unique = entries.clone();
        unique.dedup();
        assert_eq!(unique.len(), entries.len(), "an entry was reported twice");
    }

    #[test]
    fn files_open_beneath_the_root_only_and_never_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("src/a")).unwrap();
        std::fs::write(tmp.path().join("src/a/f.txt"), b"in").unwrap();
        std::fs::write(tmp.path().join("outside.txt"), b"out").unwrap();
        std::os::unix::fs::symlink("../outside.txt", tmp.path().join("src/link")).unwrap();
        std::os::unix::fs::symlink("a", tmp.path().join("src/dirlink")).unwrap();
        let root = open_root(&tmp.path().join("src")).unwrap();
        assert!(open_regular_file(&root, b"a/f.txt").is_ok());
        assert!(open_regular_file(&root, b"link").is_err());
        assert!(open_regular_file(&root, b"dirlink/f.txt").is_err());
        assert!(open_regular_file(&root, b"../outside.txt").is_err());
        assert!(
            open_regular_file(&root, b"a").is_err(),
            "a directory is not a regular file"
        );
        // The component-by-component path (used past PATH_MAX) refuses the same.
        assert!(open_by_components(&root, b"a/f.txt").is_ok());
        assert!(open_by_components(&root, b"dirlink/f.txt").is_err());
        assert!(open_by_components(&root, b"../outside.txt").is_err());
        assert!(open_by_components(&root, b"link").is_err());
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(
            Timestamp { secs: 0, nanos: 0 }.to_rfc3339(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp {
                secs: 951_782_400,
                nanos: 5
            }
            .to_rfc3339(),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            Timestamp { secs: -1, nanos: 0 }.to_rfc3339(),
            "1969-12-31T23:59:59.000000000Z"
        );
    }

    #[test]
    fn rfc3339_written_in_place_equals_the_general_formatting() {
        let mut buf = [0u8; RFC3339_LEN];
        // Every day boundary's neighbours across years 0..=9999 and beyond, in a stride
        // that is prime to a day, so times of day vary too.
        let first = -62_167_219_200i64; // 0000-01-01T00:00:00Z
        let last = 253_402_300_799i64; // 9999-12-31T23:59:59Z
        let mut secs = first - 86_400 * 400;
        while secs <= last + 86_400 * 400 {
            let t = Timestamp {
                secs,
                nanos: (secs.rem_euclid(1_000_000_000)) as u32,
            };
            assert_eq!(t.rfc3339_in(&mut buf), t.rfc3339_general(), "{secs}");
            secs += 86_399 * 37 + 11;
        }
        for secs in [first, first - 1, last, last + 1, 0, -1] {
            let t = Timestamp {
                secs,
                nanos: 999_999_999,
            };
            assert_eq!(t.rfc3339_in(&mut buf), t.rfc3339_general(), "{secs}");
        }
    }
}
