//! EXIF + XMP extraction alone over a directory tree, on all cores: files per second, and a
//! TSV of every GPS position found (`path<TAB>latitude<TAB>longitude`, paths relative to the
//! root, sorted) for comparison with exiftool. Used by scripts/bench-media.sh.
//! `cargo run --release --example exif_rate -- DIR OUT.tsv`
use rayon::prelude::*;
use std::time::Instant;

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir)
        .expect("readable directory")
        .flatten()
    {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What a metadata reader needs of a file, read the way exiftool reads it: for a JPEG the
/// segments up to the image data (the EXIF and XMP segments are there), for anything else the
/// whole file.
fn metadata_bytes(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut bytes = vec![0u8; 64 << 10];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            bytes.resize(bytes.len() * 2, 0);
        }
        let n = f.read(&mut bytes[filled..]).ok()?;
        filled += n;
        let head = &bytes[..filled];
        let done = n == 0
            || (head.starts_with(&[0xFF, 0xD8]) && spoor::media::jpeg_metadata_end(head).is_some());
        if done {
            bytes.truncate(filled);
            return Some(bytes);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("DIR"));
    let out = args.next().expect("OUT.tsv");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let start = Instant::now();
    let mut rows: Vec<String> = paths
        .par_iter()
        .filter_map(|p| {
            let bytes = metadata_bytes(p)?;
            let mut facts = spoor::media::exif::read(&bytes).ok().flatten();
            if let Ok(Some(x)) = spoor::media::xmp::read(&bytes) {
                facts.get_or_insert_with(Default::default).fill_from_xmp(x);
            }
            let gps = facts?.gps?;
            let rel = p.strip_prefix(&root).unwrap_or(p).display().to_string();
            Some(format!("{rel}\t{:.9}\t{:.9}", gps.latitude, gps.longitude))
        })
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    rows.sort();
    std::fs::write(&out, rows.join("\n") + "\n").expect("write TSV");
    println!(
        "{} files, {} with GPS, {:.3} s, {:.0} files/s",
        paths.len(),
        rows.len(),
        elapsed,
        paths.len() as f64 / elapsed
    );
}
