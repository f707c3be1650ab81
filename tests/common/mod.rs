#![allow(dead_code)]
//! Helpers shared by the integration tests: running the binary, building hostile trees,
//! snapshots of a tree to prove it was not modified.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn spoor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spoor"));
    c.env_remove("SPOOR_EXAMINER");
    c
}

pub fn run(args: &[&str]) -> Output {
    spoor().args(args).output().expect("spoor runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fails with both streams between rulers, as ripgrep's tests do.
pub fn expect_code(o: &Output, code: i32, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}: expected exit {code}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
        stdout(o),
        stderr(o)
    );
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

pub fn export(case: &Path, kind: &str) -> Vec<serde_json::Value> {
    let o = run(&["export", case.to_str().unwrap(), "--kind", kind]);
    expect_code(&o, 0, "export");
    stdout(&o).lines().map(|l| serde_json::from_str(l).expect("export line is JSON")).collect()
}

pub fn write(path: &Path, content: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

/// Independent digest from coreutils (`md5sum`, `sha1sum`, `sha256sum`).
pub fn coreutils_digest(tool: &str, path: &Path) -> String {
    let o = Command::new(tool).arg(path).output().expect("coreutils present");
    assert!(o.status.success(), "{tool} failed on {}", path.display());
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_string()
}

/// Everything about a tree that a scan must leave alone: per entry its kind, size, mode,
/// mtime, atime, link target and (for files) SHA-256 of the content.
pub fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, String> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().as_os_str().as_bytes().to_vec();
            let ft = m.file_type();
            let extra = if ft.is_symlink() {
                format!("link:{:?}", std::fs::read_link(&p).unwrap())
            } else if ft.is_file() && m.len() < (64 << 20) {
                // Read through O_NOATIME so the snapshot itself does not move access times.
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new().read(true).custom_flags(0o1000000).open(&p).unwrap();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
                format!("sha256:{}", spoor::evidence::digest::sha256_bytes(&bytes))
            } else {
                String::new()
            };
            if ft.is_dir() {
                stack.push(p.clone());
            }
            out.insert(rel, format!("{:?} size={} mode={:o} mtime={}.{} atime={}.{} {extra}", ft, m.len(), m.mode(), m.mtime(), m.mtime_nsec(), m.atime(), m.atime_nsec()));
        }
    }
    out
}

/// Sets every access time below `root` to 2001, older than any mtime: a plain read would
/// then move it (relatime), a read with O_NOATIME does not.
pub fn age_access_times(root: &Path) {
    let old = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec { tv_sec: 978_307_200, tv_nsec: 0 },
        last_modification: rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
    };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            let _ = rustix::fs::utimensat(rustix::fs::CWD, &p, &old, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
        }
    }
}

/// Creates `levels` nested directories of `name_len`-byte names (beyond PATH_MAX when the
/// product exceeds 4096) and a file at the bottom; returns its path relative to `root`.
pub fn deep_file(root: &Path, levels: usize, name_len: usize, content: &[u8]) -> Vec<u8> {
    use rustix::fs::{Mode, OFlags};
    let mut fd = rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
    let mut rel = Vec::new();
    for i in 0..levels {
        let name: String = std::iter::repeat_n((b'a' + (i % 26) as u8) as char, name_len).collect();
        rustix::fs::mkdirat(&fd, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        fd = rustix::fs::openat(&fd, name.as_str(), OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        rel.extend_from_slice(name.as_bytes());
        rel.push(b'/');
    }
    let file = rustix::fs::openat(&fd, "deep.txt", OFlags::WRONLY | OFlags::CREATE, Mode::from_raw_mode(0o644)).unwrap();
    rustix::io::write(&file, content).unwrap();
    rel.extend_from_slice(b"deep.txt");
    rel
}
