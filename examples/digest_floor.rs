//! The least a digest pass over a tree costs on this machine, for scripts/bench-hash.sh:
//! every file opened, read to its end and closed by one thread per core (no typing, no store,
//! no journal), first without hashing (the kernel's per-file and copy cost), then with
//! MD5 + SHA-1 + SHA-256 (spoor's hasher). The paths are listed before the clock starts.
//!
//!     digest_floor TREE     prints "READ_SECONDS HASH_SECONDS" (best of two each)

use spoor::evidence::digest::{ReadBuffer, TripleHasher};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn pass(files: &[PathBuf], hash: bool) -> f64 {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // spoor's read buffer (page-aligned; see its comment for why).
                let mut buf = ReadBuffer::new();
                let buf = buf.as_mut_slice();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    // O_NOATIME as spoor opens evidence; refused for files of another owner.
                    let open = |flags: i32| {
                        std::fs::OpenOptions::new()
                            .read(true)
                            .custom_flags(flags)
                            .open(path)
                    };
                    let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
                    let mut file = open(noatime).or_else(|_| open(0)).expect("open");
                    let mut hasher = TripleHasher::default();
                    while let Ok(n) = file.read(buf) {
                        if n == 0 {
                            break;
                        }
                        if hash {
                            hasher.update(&buf[..n]);
                        }
                    }
                    std::hint::black_box(hasher.finish());
                }
            });
        }
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    let root = std::env::args().nth(1).expect("usage: digest_floor TREE");
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(entry.path()),
                Ok(t) if t.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    files.sort();
    let best = |hash| (0..2).map(|_| pass(&files, hash)).fold(f64::MAX, f64::min);
    let read = best(false);
    let hashed = best(true);
    println!("{read:.3} {hashed:.3}");
}
