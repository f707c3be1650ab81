//! Thumbnails: at most 256 px a side, JPEG, under CASE/thumbs/ab/abcd….jpg keyed by the
//! SHA-256 of the original file (of the decoded pixels for a video frame).
//!
//! Always re-encoded from the decoded pixels, never a copy of the original's bytes (a
//! thumbnail must not carry the original's metadata or be mistaken for evidence). Written by
//! the engine, not by an analyzer: analyzers only observe. Identical content shares one file;
//! a thumbnail already there is not rewritten.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAX_SIDE: u32 = 256;
/// JPEG quality: at 256 px, 80 keeps faces and text legible at about 10–20 KB a thumbnail.
const QUALITY: u8 = 80;

pub fn path_for(thumbs_dir: &Path, key_hex: &str) -> PathBuf {
    let shard = key_hex.get(..2).unwrap_or("00");
    thumbs_dir.join(shard).join(format!("{key_hex}.jpg"))
}

/// Writes the thumbnail unless it exists; returns its path. The file appears whole or not at
/// all (written beside it, then renamed).
pub fn write(
    thumbs_dir: &Path,
    key_hex: &str,
    img: &image::DynamicImage,
) -> Result<PathBuf, String> {
    let path = path_for(thumbs_dir, key_hex);
    if path.exists() {
        return Ok(path);
    }
    let rgb = if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        // An integer block average first brings a large photo to 2-4x the target, then
        // `area_average` (image's `thumbnail` reduction, faster) finishes: both average every pixel,
        // so nothing aliases, and a 12 MP photo costs about a quarter of `thumbnail` alone
        // (perf: `thumbnail` was 15% of a scan of phone-size JPEGs).
        let k = (img.width().min(img.height()) / (2 * MAX_SIDE)).max(1);
        let rgb = match img {
            image::DynamicImage::ImageRgb8(rgb) if k > 1 => block_average(rgb, k),
            _ if k > 1 => block_average(&img.to_rgb8(), k),
            _ => img.to_rgb8(),
        };
        area_average(&rgb, MAX_SIDE)
    } else {
        img.to_rgb8()
    };
    let mut jpeg = Vec::with_capacity(32 << 10);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&rgb)
        .map_err(|e| format!("thumbnail: {e}"))?;
    let dir = path.parent().unwrap_or(thumbs_dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("thumbnail: {}: {e}", dir.display()))?;
    // Unique per write, not per process: with many identical pictures several threads write
    // the same thumbnail at once, and a shared name let one thread's rename take another's
    // file ("No such file or directory" errors that differed between two scans of one tree).
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nth = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{key_hex}.{}.{nth}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&jpeg))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("thumbnail: {}: {e}", path.display()));
    }
    Ok(path)
}

/// Largest thumbnail read back (they are ~5-20 KB; a bigger file is not one spoor wrote).
pub const MAX_THUMBNAIL: u64 = 256 << 10;

/// The thumbnail stored under `key_hex`, read back for a report or the review UI: the key
/// must be 64 hex digits (a SHA-256, never a path), the file a regular file (a symbolic link
/// planted in the thumbnail directory is refused, not followed) of at most `MAX_THUMBNAIL`.
pub fn read(thumbs_dir: &Path, key_hex: &str) -> Result<Vec<u8>, String> {
    if key_hex.len() != 64 || !key_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("thumbnail key {key_hex:?} is not a SHA-256"));
    }
    let path = path_for(thumbs_dir, key_hex);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("thumbnail: {e}"))?;
    if !meta.file_type().is_file() {
        return Err(format!("thumbnail {}: not a regular file", path.display()));
    }
    if meta.len() > MAX_THUMBNAIL {
        return Err(format!(
            "thumbnail {}: larger than spoor writes",
            path.display()
        ));
    }
    std::fs::read(&path).map_err(|e| format!("thumbnail {}: {e}", path.display()))
}

/// Whether a readable thumbnail is stored under `key_hex` (as `read` would accept it).
pub fn exists(thumbs_dir: &Path, key_hex: &str) -> bool {
    key_hex.len() == 64
        && key_hex.bytes().all(|b| b.is_ascii_hexdigit())
        && std::fs::symlink_metadata(path_for(thumbs_dir, key_hex))
            .is_ok_and(|m| m.file_type().is_file())
}

/// A thumbnail too coarse to show what it depicts (a mosaic of about 12 cells across), for
/// reports: DESIGN's privacy rule keeps sensitive pictures blurred until a reviewer reveals
/// them (`spoor reveal`, which the audit log records).
pub fn blurred(thumbnail_jpeg: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory(thumbnail_jpeg).map_err(|e| format!("thumbnail: {e}"))?;
    let (w, h) = (img.width().max(1), img.height().max(1));
    let cell = (w.max(h) / 12).max(1);
    let small = image::imageops::resize(
        &img.to_rgb8(),
        w.div_ceil(cell),
        h.div_ceil(cell),
        image::imageops::FilterType::Triangle,
    );
    let mosaic = image::imageops::resize(&small, w, h, image::imageops::FilterType::Nearest);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70)
        .encode_image(&mosaic)
        .map_err(|e| format!("thumbnail: {e}"))?;
    Ok(out)
}

/// `image`'s `DynamicImage::thumbnail(max_side, max_side)` of an RGB picture larger than
/// `max_side`, byte for byte (tested), computed as [`block_average`] is: each output pixel
/// is the rounded mean of the same block of input pixels (`image` picks the blocks with the
/// same f32 arithmetic, copied below), but the rows are added into column sums a whole row
/// at a time instead of pixel by pixel through `get_pixel`. `image`'s own was 4.6 % of a
/// NanoDet scan's CPU (perf, 504 JPEGs, ~3.6 ms a picture).
pub fn area_average(src: &image::RgbImage, max_side: u32) -> image::RgbImage {
    let (w, h) = src.dimensions();
    // `image::math::utils::resize_dimensions(w, h, max_side, max_side, false)`.
    let ratio = (f64::from(max_side) / f64::from(w)).min(f64::from(max_side) / f64::from(h));
    let nw = ((f64::from(w) * ratio).round() as u32).max(1);
    let nh = ((f64::from(h) * ratio).round() as u32).max(1);
    // Each output position's block [start, end) along one axis, as `imageops::thumbnail`
    // computes it.
    let blocks = |len: u32, out: u32| -> Vec<(u32, u32)> {
        let step = len as f32 / out as f32;
        (0..out)
            .map(|o| {
                let from = o as f32 * step;
                let to = from + step;
                let start = (from.ceil() as u32).min(len - 1);
                let end = (to.ceil() as u32).clamp(start, len);
                (start, end)
            })
            .collect()
    };
    let (columns, rows) = (blocks(w, nw), blocks(h, nh));
    // An empty block (an enlargement along an axis) takes `image`'s fractional paths: not
    // a case this function is for, so `image` does it.
    if w == 0 || h == 0 || columns.iter().chain(&rows).any(|(a, b)| a == b) {
        return image::DynamicImage::ImageRgb8(src.clone())
            .thumbnail(max_side, max_side)
            .to_rgb8();
    }
    average_blocks(src, &columns, &rows)
}

/// Averages each k x k block (edge blocks over what exists) into one pixel, rounding to nearest.
pub fn block_average(src: &image::RgbImage, k: u32) -> image::RgbImage {
    let (w, h) = src.dimensions();
    let blocks = |len: u32| -> Vec<(u32, u32)> {
        (0..len.div_ceil(k))
            .map(|o| (o * k, ((o + 1) * k).min(len)))
            .collect()
    };
    average_blocks(src, &blocks(w), &blocks(h))
}

/// Each output pixel the rounded mean of one block of input pixels: `columns` and `rows` give
/// each output position's input range [start, end), none empty, in increasing order.
fn average_blocks(
    src: &image::RgbImage,
    columns: &[(u32, u32)],
    rows: &[(u32, u32)],
) -> image::RgbImage {
    let raw = src.as_raw();
    let row_len = (src.width() * 3) as usize;
    let mut out = Vec::with_capacity(columns.len() * rows.len() * 3);
    // Rows are first added column by column into one row of sums (a plain vectorised add over
    // the row's bytes), then each block's column sums are added; summing pixel by pixel into
    // per-block totals was ~4 ns a pixel (perf), a third of a scan's thumbnail and model
    // pre-processing time.
    let mut column_sums = vec![0u32; row_len];
    for &(y0, y1) in rows {
        column_sums.iter_mut().for_each(|s| *s = 0);
        for y in y0..y1 {
            let row = &raw[y as usize * row_len..(y as usize + 1) * row_len];
            column_sums
                .iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += v as u32);
        }
        for &(x0, x1) in columns {
            let n = (x1 - x0) * (y1 - y0);
            for c in 0..3 {
                let s: u32 = (x0..x1).map(|x| column_sums[(x * 3 + c) as usize]).sum();
                out.push(((s + n / 2) / n) as u8);
            }
        }
    }
    image::RgbImage::from_raw(columns.len() as u32, rows.len() as u32, out).expect("sized to fit")
}

#[cfg(test)]
mod tests {
    #[test]
    fn block_average_rounds_and_handles_ragged_edges() {
        // 5 x 3, k = 2: blocks of 2x2, 2x2, 1x2 on the first row, then 2x1, 2x1, 1x1.
        let src = image::RgbImage::from_fn(5, 3, |x, y| image::Rgb([(x * 10 + y) as u8, 100, 255]));
        let out = super::block_average(&src, 2);
        assert_eq!(out.dimensions(), (3, 2));
        assert_eq!(out.get_pixel(0, 0).0, [6, 100, 255]); // (0+1+10+11)/4 = 5.5 -> 6
        assert_eq!(out.get_pixel(2, 0).0, [41, 100, 255]); // (40+41)/2 = 40.5 -> 41
        assert_eq!(out.get_pixel(2, 1).0, [42, 100, 255]);
    }

    /// The fast area average is `image`'s thumbnail, byte for byte, on pictures of many
    /// shapes (square, wide, tall, sides just over and far over the target, a 1-pixel strip).
    #[test]
    fn area_average_equals_image_thumbnail_byte_for_byte() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (w, h) in [
            (257, 257),
            (300, 200),
            (200, 300),
            (1008, 756),
            (756, 1008),
            (1000, 1),
            (4000, 3),
            (513, 2048),
            (640, 427),
            (1023, 767),
            (2016, 504),
        ] {
            let pixels: Vec<u8> = (0..w * h * 3).map(|_| (next() >> 24) as u8).collect();
            let src = image::RgbImage::from_raw(w, h, pixels).unwrap();
            let expected = image::DynamicImage::ImageRgb8(src.clone())
                .thumbnail(super::MAX_SIDE, super::MAX_SIDE)
                .to_rgb8();
            let got = super::area_average(&src, super::MAX_SIDE);
            assert_eq!(got.dimensions(), expected.dimensions(), "{w}x{h}");
            assert!(got.as_raw() == expected.as_raw(), "{w}x{h}: pixels differ");
        }
    }

    /// Issue 11.5: identical pictures thumbnailed by many threads at once all succeed, and
    /// leave one thumbnail and no temporary file behind.
    #[test]
    fn concurrent_writes_of_one_thumbnail_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        }));
        let key = "ab".repeat(32);
        for _round in 0..20 {
            let _ = std::fs::remove_dir_all(dir.path().join("ab"));
            let failures: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| super::write(dir.path(), &key, &img)))
                    .collect();
                handles
                    .into_iter()
                    .filter_map(|h| h.join().unwrap().err())
                    .collect()
            });
            assert!(failures.is_empty(), "{failures:?}");
            let names: Vec<_> = std::fs::read_dir(dir.path().join("ab"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names, vec![format!("{key}.jpg")]);
        }
    }
}
