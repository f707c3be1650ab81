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

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
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

impl Timestamp {
    /// RFC 3339 in UTC with nanoseconds, e.g. `2024-03-01T12:00:00.123456789Z`.
    pub fn to_rfc3339(self) -> String {
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
        device: ((st.stx_dev_major as u64) << 32) | st.stx_dev_minor as u64,
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

struct Frame {
    fd: OwnedFd,
    prefix: Vec<u8>,
    /// Remaining names, sorted descending so `pop` yields byte order.
    names: Vec<CString>,
    dev_ino: (u64, u64),
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
    names.sort_unstable_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
    Ok(names)
}

/// Walks `root` depth-first, calling `visit` for every entry and failure in a deterministic
/// order (byte order within each directory). Stops early when `stop` is set.
pub fn walk(root_fd: &OwnedFd, stop: &AtomicBool, visit: &mut dyn FnMut(WalkEvent)) {
    let root_stat = match rustix::fs::fstat(root_fd) {
        Ok(s) => s,
        Err(e) => {
            visit(WalkEvent::Failure(WalkFailure {
                rel_path: Vec::new(),
                reason: format!("stat source root: {e}"),
            }));
            return;
        }
    };
    let root_copy = match rustix::io::dup(root_fd) {
        Ok(fd) => fd,
        Err(e) => {
            visit(WalkEvent::Failure(WalkFailure {
                rel_path: Vec::new(),
                reason: format!("dup source root: {e}"),
            }));
            return;
        }
    };
    let names = match read_names(&root_copy) {
        Ok(n) => n,
        Err(e) => {
            visit(WalkEvent::Failure(WalkFailure {
                rel_path: Vec::new(),
                reason: format!("list source root: {e}"),
            }));
            return;
        }
    };
    let root_id = (root_stat.st_dev as u64, root_stat.st_ino as u64);
    let mut on_path: HashSet<(u64, u64)> = HashSet::from([root_id]);
    let mut stack = vec![Frame {
        fd: root_copy,
        prefix: Vec::new(),
        names,
        dev_ino: root_id,
    }];

    while let Some(frame) = stack.last_mut() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(name) = frame.names.pop() else {
            let done = stack.pop().expect("frame present");
            on_path.remove(&done.dev_ino);
            continue;
        };
        let rel = join(&frame.prefix, name.as_bytes());
        let meta = match statx_meta(&frame.fd, &name) {
            Ok(m) => m,
            Err(e) => {
                // Deleted between listing and stat, or unreadable: a record, not a silent skip.
                visit(WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason: format!("stat: {e}"),
                }));
                continue;
            }
        };
        let link_target = if meta.kind == EntryKind::Symlink {
            match rustix::fs::readlinkat(&frame.fd, &*name, Vec::new()) {
                Ok(t) => Some(t.into_bytes()),
                Err(e) => {
                    visit(WalkEvent::Failure(WalkFailure {
                        rel_path: rel.clone(),
                        reason: format!("readlink: {e}"),
                    }));
                    None
                }
            }
        } else {
            None
        };
        let is_dir = meta.kind == EntryKind::Dir;
        visit(WalkEvent::Entry(WalkEntry {
            rel_path: rel.clone(),
            meta,
            link_target,
        }));
        if !is_dir {
            continue;
        }
        if stack.len() >= MAX_DEPTH {
            visit(WalkEvent::Failure(WalkFailure {
                rel_path: rel,
                reason: format!("directory nesting deeper than {MAX_DEPTH} levels; not descended"),
            }));
            continue;
        }
        let parent_fd = &stack.last().expect("frame present").fd;
        let child = match open_dir_at(parent_fd, &name) {
            Ok(fd) => fd,
            Err(e) => {
                visit(WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason: format!("open directory: {e}"),
                }));
                continue;
            }
        };
        // Compare the opened directory with what was listed: a swap in between is refused.
        let child_id = match rustix::fs::fstat(&child) {
            Ok(s) => (s.st_dev, s.st_ino),
            Err(e) => {
                visit(WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason: format!("stat directory: {e}"),
                }));
                continue;
            }
        };
        if !on_path.insert(child_id) {
            visit(WalkEvent::Failure(WalkFailure {
                rel_path: rel,
                reason: "directory loop (same device and inode as an ancestor); not descended"
                    .into(),
            }));
            continue;
        }
        match read_names(&child) {
            Ok(names) => stack.push(Frame {
                fd: child,
                prefix: rel,
                names,
                dev_ino: child_id,
            }),
            Err(e) => {
                on_path.remove(&child_id);
                visit(WalkEvent::Failure(WalkFailure {
                    rel_path: rel,
                    reason: format!("list directory: {e}"),
                }));
            }
        }
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
}
