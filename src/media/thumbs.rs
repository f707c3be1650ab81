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
    let small = if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        // `thumbnail` is image's fast area-averaging reduction; fine at this size, and about
        // 5x faster than a Lanczos resize of a 12 MP photo.
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        img.clone()
    };
    let rgb = small.to_rgb8();
    let mut jpeg = Vec::with_capacity(32 << 10);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&rgb)
        .map_err(|e| format!("thumbnail: {e}"))?;
    let dir = path.parent().unwrap_or(thumbs_dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("thumbnail: {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{key_hex}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&jpeg))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("thumbnail: {}: {e}", path.display()));
    }
    Ok(path)
}
