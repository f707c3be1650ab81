#![allow(dead_code)]
//! Helpers shared by the integration tests: running the binary, building hostile trees,
//! snapshots of a tree to prove it was not modified.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn spoor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spoor"));
    // What the binary reads from its environment would otherwise leak in from the shell that
    // runs the tests (a models folder, another ffmpeg or libheif, another ONNX Runtime); a
    // test that needs one sets it itself.
    for var in [
        "SPOOR_EXAMINER",
        "SPOOR_MODELS",
        "SPOOR_FFMPEG",
        "SPOOR_LIBHEIF",
        "ORT_DYLIB_PATH",
    ] {
        c.env_remove(var);
    }
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
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn export(case: &Path, kind: &str) -> Vec<serde_json::Value> {
    let o = run(&["export", case.to_str().unwrap(), "--kind", kind]);
    expect_code(&o, 0, "export");
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("export line is JSON"))
        .collect();
    if kind == "observations" {
        assert_catalogued(&lines);
    }
    lines
}

/// Every observation is of a kind in spoor::model::OBSERVATION_KINDS and has only the fields
/// listed there: the rules are checked against that catalogue, so it must be complete.
pub fn assert_catalogued(observations: &[serde_json::Value]) {
    for o in observations {
        let name = o["kind"].as_str().unwrap();
        let kind = spoor::model::observation_kind(name)
            .unwrap_or_else(|| panic!("observation kind {name:?} is not in spoor::model"));
        if let Some(value) = o["value"].as_object() {
            for field in value.keys() {
                assert!(
                    kind.fields.contains(&field.as_str()),
                    "{name}: field {field:?} is not in spoor::model's catalogue"
                );
            }
        }
    }
}

pub fn write(path: &Path, content: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

/// Independent digest from coreutils (`md5sum`, `sha1sum`, `sha256sum`).
pub fn coreutils_digest(tool: &str, path: &Path) -> String {
    let o = Command::new(tool)
        .arg(path)
        .output()
        .expect("coreutils present");
    assert!(o.status.success(), "{tool} failed on {}", path.display());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Visits every entry below `root` through directory descriptors (paths may exceed PATH_MAX),
/// giving the parent descriptor, the name and the path relative to `root`.
fn visit_fd(root: &Path, f: &mut dyn FnMut(&rustix::fd::OwnedFd, &std::ffi::CStr, &[u8])) {
    use rustix::fs::{Mode, OFlags};
    fn rec(
        dir: &rustix::fd::OwnedFd,
        prefix: &[u8],
        f: &mut dyn FnMut(&rustix::fd::OwnedFd, &std::ffi::CStr, &[u8]),
    ) {
        let mut names: Vec<std::ffi::CString> = rustix::fs::Dir::read_from(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_owned())
            .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
            .collect();
        names.sort();
        for name in names {
            let mut rel = prefix.to_vec();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            let st =
                rustix::fs::statat(dir, name.as_c_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .unwrap();
            f(dir, &name, &rel);
            if st.st_mode & 0o170000 == 0o040000 {
                let child = rustix::fs::openat(
                    dir,
                    name.as_c_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NOATIME,
                    Mode::empty(),
                )
                .unwrap();
                rec(&child, &rel, f);
            }
        }
    }
    let fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOATIME,
        Mode::empty(),
    )
    .unwrap();
    rec(&fd, b"", f);
}

/// Everything about a tree that a scan must leave alone: per entry its mode, size, mtime,
/// atime, ctime, link target and (for files) SHA-256 of the content.
pub fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, String> {
    use rustix::fs::{Mode, OFlags};
    let mut out = BTreeMap::new();
    visit_fd(root, &mut |dir, name, rel| {
        let st = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
        let extra = match st.st_mode & 0o170000 {
            0o120000 => format!(
                "link:{:?}",
                rustix::fs::readlinkat(dir, name, Vec::new()).unwrap()
            ),
            0o100000 if st.st_size < (64 << 20) => {
                // O_NOATIME so the snapshot itself does not move access times.
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOATIME | OFlags::NOFOLLOW,
                    Mode::empty(),
                )
                .unwrap();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut bytes).unwrap();
                format!("sha256:{}", spoor::evidence::digest::sha256_bytes(&bytes))
            }
            _ => String::new(),
        };
        // readlink(2) has no O_NOATIME: on a writable mount the kernel moves a symlink's
        // access time when its target is read (by this snapshot too). Evidence mounted
        // read-only, as it should be, is unaffected; here a link's atime is left out.
        let atime = if st.st_mode & 0o170000 == 0o120000 {
            "n/a".to_string()
        } else {
            format!("{}.{}", st.st_atime, st.st_atime_nsec)
        };
        out.insert(
            rel.to_vec(),
            format!(
                "mode={:o} size={} mtime={}.{} atime={atime} ctime={}.{} {extra}",
                st.st_mode,
                st.st_size,
                st.st_mtime,
                st.st_mtime_nsec,
                st.st_ctime,
                st.st_ctime_nsec
            ),
        );
    });
    out
}

/// Sets every access time below `root` to 2001, older than any mtime: a plain read would
/// then move it (relatime), a read with O_NOATIME does not.
pub fn age_access_times(root: &Path) {
    let old = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 978_307_200,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
    };
    visit_fd(root, &mut |dir, name, _| {
        rustix::fs::utimensat(dir, name, &old, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
    });
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
        fd = rustix::fs::openat(
            &fd,
            name.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        rel.extend_from_slice(name.as_bytes());
        rel.push(b'/');
    }
    let file = rustix::fs::openat(
        &fd,
        "deep.txt",
        OFlags::WRONLY | OFlags::CREATE,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&file, content).unwrap();
    rel.extend_from_slice(b"deep.txt");
    rel
}

/// Asserts two snapshots are equal, printing only the entries that differ.
pub fn assert_same_tree(before: &BTreeMap<Vec<u8>, String>, after: &BTreeMap<Vec<u8>, String>) {
    let mut diffs = Vec::new();
    for key in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (b, a) = (before.get(key), after.get(key));
        if b != a {
            let name = String::from_utf8_lossy(key);
            let short = if name.len() > 80 {
                format!("…{}", &name[name.len() - 60..])
            } else {
                name.into_owned()
            };
            diffs.push(format!("{short:?}\n  before: {b:?}\n  after:  {a:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "the evidence tree changed:\n{}",
        diffs.join("\n")
    );
}

/// `spoor scan EVIDENCE --case CASE --examiner EXAMINER [extra...]`.
pub fn scan(evidence: &Path, case: &Path, examiner: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        evidence.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        "--examiner",
        examiner,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The picture vision_reference.py draws as `pattern` (1500 x 1100: takes the block-average path).
pub fn pattern() -> image::RgbImage {
    image::RgbImage::from_fn(1500, 1100, |x, y| {
        image::Rgb([
            ((x * 7 + y * 3) % 256) as u8,
            ((x * y / 97) % 256) as u8,
            (((x / 50 + y / 50) % 2) * 200 + 20) as u8,
        ])
    })
}
