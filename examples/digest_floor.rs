//! The least a digest pass over a tree costs on this machine, for scripts/bench-hash.sh:
//! every file opened, read to its end and closed by one thread per core (no typing, no store,
//! no journal), first without hashing (the kernel's per-file and copy cost), then with
//! MD5 + SHA-1 + SHA-256 as spoor takes them: files under 256 KiB read whole 16 at a time and
//! their MD5s taken together in SIMD lanes, larger ones streamed through one buffer. The
//! paths are listed before the clock starts.
//!
//!     digest_floor TREE     prints "READ_SECONDS HASH_SECONDS" (best of two each)

use spoor::evidence::digest::{
    MD5_LANES, ReadBuffer, SMALL_FILE_LIMIT, TripleHasher, md5_of_many, read_small,
};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// O_NOATIME as spoor opens evidence; refused for files of another owner.
fn open(path: &PathBuf) -> File {
    let open = |flags: i32| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
    };
    let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
    open(noatime).or_else(|_| open(0)).expect("open")
}

fn pass(files: &[(PathBuf, u64)], hash: bool) -> f64 {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // spoor's read buffers (page-aligned; see ReadBuffer for why).
                let mut stream = ReadBuffer::new();
                let mut lanes: Vec<ReadBuffer> =
                    (0..MD5_LANES).map(|_| ReadBuffer::new()).collect();
                // One file at a time from the shared list (so that large files spread over
                // the threads, as spoor's walker spreads them by bytes); small ones wait in
                // their lanes until 16 are read, or the list is done.
                let mut small = Vec::new();
                loop {
                    let next_file = files.get(next.fetch_add(1, Ordering::Relaxed));
                    if let Some((path, size)) = next_file {
                        let mut file = open(path);
                        if hash && *size < SMALL_FILE_LIMIT {
                            let lane = &mut lanes[small.len()];
                            let read = read_small(&mut file, lane, *size)
                                .expect("read")
                                .expect("a file of the bench tree changed while it was read");
                            small.push(read);
                        } else {
                            let buf = stream.as_mut_slice();
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
                    }
                    if small.len() == MD5_LANES || (next_file.is_none() && !small.is_empty()) {
                        let inputs: Vec<&[u8]> = small
                            .iter()
                            .zip(&lanes)
                            .map(|(read, lane)| &lane.as_slice()[..read.len])
                            .collect();
                        std::hint::black_box(md5_of_many(&inputs));
                        small.clear();
                    }
                    if next_file.is_none() {
                        break;
                    }
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
                Ok(t) if t.is_file() => {
                    let size = entry.metadata().expect("metadata").len();
                    files.push((entry.path(), size));
                }
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
