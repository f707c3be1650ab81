//! The least a digest pass over a tree costs on this machine, for scripts/bench-hash.sh:
//! every file opened, read to its end and closed by one thread per core (no typing, no store,
//! no journal), first without hashing (the kernel's per-file and copy cost), then with
//! MD5 + SHA-1 + SHA-256 as spoor takes them: files under 256 KiB read whole 16 at a time and
//! their MD5s taken together in SIMD lanes, larger ones streamed side by side in groups of up
//! to 16 (`stream_side_by_side`), their MD5s in lanes too. The paths are listed before the
//! clock starts.
//!
//!     digest_floor TREE     prints "READ_SECONDS HASH_SECONDS" (best of two each)

use spoor::evidence::digest::{
    MD5_LANES, ReadBuffer, SIDE_BY_SIDE_BATCH_BYTES, SIDE_BY_SIDE_BATCH_FILES, SMALL_FILE_LIMIT,
    md5_of_many, read_small, stream_side_by_side,
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

/// What a thread takes from the shared list: a small file, or a group of large ones (as
/// spoor's walker batches them).
enum Work {
    Small(PathBuf, u64),
    Large(Vec<(PathBuf, u64)>),
}

fn work_list(files: &[(PathBuf, u64)]) -> Vec<Work> {
    let mut list = Vec::new();
    let mut group: Vec<(PathBuf, u64)> = Vec::new();
    for (path, size) in files {
        if *size < SMALL_FILE_LIMIT {
            list.push(Work::Small(path.clone(), *size));
            continue;
        }
        group.push((path.clone(), *size));
        if group.len() >= SIDE_BY_SIDE_BATCH_FILES
            || group.iter().map(|f| f.1).sum::<u64>() >= SIDE_BY_SIDE_BATCH_BYTES
        {
            list.push(Work::Large(std::mem::take(&mut group)));
        }
    }
    if !group.is_empty() {
        list.push(Work::Large(group));
    }
    list
}

fn pass(list: &[Work], hash: bool) -> f64 {
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
                let mut side: Vec<ReadBuffer> = Vec::new();
                // One item at a time from the shared list; small files wait in their lanes
                // until 16 are read, or the list is done.
                let mut small = Vec::new();
                loop {
                    let item = list.get(next.fetch_add(1, Ordering::Relaxed));
                    match item {
                        Some(Work::Small(path, size)) if hash => {
                            let lane = &mut lanes[small.len()];
                            let read = read_small(&mut open(path), lane, *size)
                                .expect("read")
                                .expect("a file of the bench tree changed while it was read");
                            small.push(read);
                        }
                        Some(Work::Large(group)) if hash => {
                            stream_side_by_side(
                                group.len(),
                                &|i| group[i].1,
                                &mut |i| Ok(open(&group[i].0)),
                                &mut side,
                                &|| false,
                                &|_, _| false,
                                &mut |_, r| {
                                    std::hint::black_box(r.expect("read").digests);
                                },
                            )
                            .expect("read");
                        }
                        Some(Work::Small(path, _)) => read_through(path, &mut stream),
                        Some(Work::Large(group)) => {
                            group.iter().for_each(|(p, _)| read_through(p, &mut stream))
                        }
                        None => {}
                    }
                    if small.len() == MD5_LANES || (item.is_none() && !small.is_empty()) {
                        let inputs: Vec<&[u8]> = small
                            .iter()
                            .zip(&lanes)
                            .map(|(read, lane)| &lane.as_slice()[..read.len])
                            .collect();
                        std::hint::black_box(md5_of_many(&inputs));
                        small.clear();
                    }
                    if item.is_none() {
                        break;
                    }
                }
            });
        }
    });
    start.elapsed().as_secs_f64()
}

/// Open, read to the end, close: no hashing.
fn read_through(path: &PathBuf, stream: &mut ReadBuffer) {
    let mut file = open(path);
    let buf = stream.as_mut_slice();
    while let Ok(n) = file.read(buf) {
        if n == 0 {
            break;
        }
    }
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
    let list = work_list(&files);
    let best = |hash| (0..2).map(|_| pass(&list, hash)).fold(f64::MAX, f64::min);
    let read = best(false);
    let hashed = best(true);
    println!("{read:.3} {hashed:.3}");
}
