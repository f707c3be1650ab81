//! Images and video: decoding (with HEIF through libheif), EXIF and XMP, PDQ, thumbnails,
//! near-duplicates, PDQ lists, and video keyframes through ffmpeg.
//!
//! The engine keeps an image item's content in memory while it hashes the file and decodes it
//! once ([`decode`]); the analyzers here read the pixels from the item view. Limits are
//! checked from the header before any pixel is decoded; an image over them, or one that does
//! not decode, is an error record.

pub mod exif;
pub mod heif;
pub mod neardup;
pub mod pdq;
pub mod pdqlist;
pub mod thumbs;
pub mod turbojpeg;
pub mod video;
pub mod xmp;

use serde_json::json;

use crate::analyze::{Analyzer, ItemView, ObservationDraft};
use crate::evidence::typing::ContentType;

/// Largest image file kept in memory for decoding.
pub const MAX_IMAGE_BYTES: u64 = 64 << 20;
/// Largest side decoded; a 50,000 x 50,000 PNG of a few KB (a decompression bomb) is refused
/// from its header.
pub const MAX_IMAGE_SIDE: u32 = 32_768;
/// Largest decoder allocation. Peak memory per worker is about 3x this (pixels, luminance,
/// filter buffer).
pub const MAX_DECODE_ALLOC: u64 = 512 << 20;

/// Whether a type is decoded as an image here.
pub fn decodable(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/tiff" | "image/bmp"
    ) || is_heif(mime)
}

fn is_heif(mime: &str) -> bool {
    matches!(mime, "image/heif" | "image/heic" | "image/avif")
}

/// What [`decode`] uses for a type, as provenance of what is computed from the pixels.
pub fn decoder_name(mime: &str) -> &'static str {
    if is_heif(mime) {
        "libheif"
    } else {
        "image 0.25"
    }
}

/// Decodes an image of the given type, with limits checked from the header and the
/// orientation applied (EXIF for the `image` formats, the container's for HEIF), so the pixels
/// are the picture as a viewer shows it; errors (not panics) on anything malformed.
pub fn decode(bytes: &[u8], mime: &str) -> Result<image::DynamicImage, String> {
    if is_heif(mime) {
        return heif::decode(bytes, MAX_IMAGE_SIDE, MAX_DECODE_ALLOC)
            .map(image::DynamicImage::ImageRgb8);
    }
    decode_with_image_crate(bytes)
}

/// As [`decode`], at the smallest JPEG DCT scale (1/2, 1/4, 1/8) that still serves `need`
/// when libjpeg-turbo is there (see [`turbojpeg`]); returns the pixels and what decoded them.
/// Other formats, no `need`, or no reduction that serves it: the full decode.
pub fn decode_for(
    bytes: &[u8],
    mime: &str,
    need: Option<turbojpeg::Need>,
) -> Result<(image::DynamicImage, &'static str), String> {
    if let (Some(need), "image/jpeg") = (need, mime)
        && let Some((rgb, k)) = turbojpeg::decode_scaled(bytes, need)?
    {
        let mut img = image::DynamicImage::ImageRgb8(rgb);
        img.apply_orientation(jpeg_orientation(bytes));
        let name = match k {
            1 => "libjpeg-turbo",
            2 => "libjpeg-turbo, DCT-scaled 1/2",
            4 => "libjpeg-turbo, DCT-scaled 1/4",
            _ => "libjpeg-turbo, DCT-scaled 1/8",
        };
        return Ok((img, name));
    }
    decode(bytes, mime).map(|img| (img, decoder_name(mime)))
}

/// The EXIF orientation of a JPEG, as the full decoder reads it (none when unreadable).
fn jpeg_orientation(bytes: &[u8]) -> image::metadata::Orientation {
    use image::ImageDecoder;
    image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes))
        .ok()
        .and_then(|mut d| d.orientation().ok())
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

/// Reads and decodes a picture file outside the evidence (a reference gallery, a labelled
/// evaluation set), its type found from its content.
pub fn decode_file(path: &std::path::Path) -> Result<image::DynamicImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mime = crate::evidence::typing::detect(&bytes[..bytes.len().min(8192)]).mime;
    decode(&bytes, &mime)
}

fn decode_with_image_crate(bytes: &[u8]) -> Result<image::DynamicImage, String> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("decode: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| format!("decode: {e}"))?;
    if decoder.total_bytes() > MAX_DECODE_ALLOC {
        return Err(format!(
            "decode: {} bytes of pixels is over the {} MiB limit",
            decoder.total_bytes(),
            MAX_DECODE_ALLOC >> 20
        ));
    }
    // A damaged orientation tag leaves the picture as stored rather than failing it.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| format!("decode: {e}"))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// PDQ of every decodable image, with its eight dihedral variants (so that a rotated or
/// mirrored copy of a listed image still matches).
pub struct PdqAnalyzer;

impl Analyzer for PdqAnalyzer {
    fn name(&self) -> &'static str {
        "pdq"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "perceptual hash, not identity: on Meta's published vectors this implementation is within 12 bits \
         (worst case; 0 on the Java and C++ vectors) of the reference, whose own implementations accept 16; \
         Meta recommends distance <= 31 for a match and discarding hashes of quality < 50"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.image.is_some()
    }
    /// Both sides at least 512 px of a DCT-scaled decode (`turbojpeg`). Measured on the 2,016
    /// JPEGs of scripts/bench-media.sh against Meta's C++ PDQ on the full pictures (the 1,848
    /// of quality >= 50): at 512, bit distance median 2, 99 % 10, worst 10, within the 16 bits
    /// Meta's implementations accept of each other; at 256 (the thumbnail's) median 6, 99 %
    /// 24, worst 26, which is not.
    fn min_picture_side(&self) -> u32 {
        512
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        decodable(&content_type.mime) && size <= MAX_IMAGE_BYTES
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let Some(img) = item.image else {
            return Ok(Vec::new());
        };
        let (width, height) = (img.width(), img.height());
        let luma = match img {
            image::DynamicImage::ImageRgb8(rgb) => pdq::luma_from_rgb8(rgb.as_raw()),
            other => pdq::luma_from_rgb8(other.to_rgb8().as_raw()),
        };
        let Some(d) = pdq::dihedral_luma(luma, height as usize, width as usize) else {
            return Err(format!(
                "{width}x{height} is under PDQ's {} pixel minimum side",
                pdq::MIN_DIMENSION
            ));
        };
        Ok(vec![ObservationDraft {
            kind: crate::model::ObservationKind::ImagePdq,
            value: json!({
                "hash": d.original.to_hex(),
                "quality": d.quality,
                "width": width,
                "height": height,
                "dihedral": {
                    "rotate90": d.rotate90.to_hex(), "rotate180": d.rotate180.to_hex(),
                    "rotate270": d.rotate270.to_hex(), "flip_x": d.flip_x.to_hex(),
                    "flip_y": d.flip_y.to_hex(), "flip_plus1": d.flip_plus1.to_hex(),
                    "flip_minus1": d.flip_minus1.to_hex(),
                },
            }),
            // A hash is a fact about the pixels; quality says how much it can be trusted.
            confidence: 1.0,
            provenance: json!({ "decoder": item.decoder }),
        }])
    }
}

/// Where a JPEG's metadata segments end: the offset of its first start-of-scan marker, after
/// which only image data follows. `None` when the bytes are not a JPEG or the segment chain is
/// broken before the scan (then callers search everything).
pub fn jpeg_metadata_end(bytes: &[u8]) -> Option<usize> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may pad between segments.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            0xDA => return Some(at),
            0xD0..=0xD7 | 0x01 => at += 2,
            _ => {
                let len = u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]) as usize;
                if len < 2 {
                    return None;
                }
                at += 2 + len;
            }
        }
    }
}

/// Frames counted in an animated GIF before the count stops; an animation longer than this
/// is reported as not examined past its first frame.
pub const MAX_ANIMATION_FRAMES: usize = 1000;

/// Counts the frames of a GIF from its block structure, without decoding any pixels (a GIF of
/// thousands of frames costs a few KB of parsing here, not thousands of decodes). Stops at
/// `cap`. `None` when the structure is broken before the first frame.
pub fn gif_frame_count(bytes: &[u8], cap: usize) -> Option<usize> {
    if bytes.len() < 13 || !bytes.starts_with(b"GIF") {
        return None;
    }
    let table = |packed: u8| {
        if packed & 0x80 != 0 {
            3usize << ((packed & 7) + 1)
        } else {
            0
        }
    };
    let mut at = 13 + table(bytes[10]);
    let mut frames = 0usize;
    // Skips a chain of data sub-blocks (length byte, data), ending at a zero length.
    let skip_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let len = *bytes.get(at)? as usize;
            at += 1 + len;
            if len == 0 {
                return Some(at);
            }
        }
    };
    while frames < cap {
        match bytes.get(at) {
            Some(0x21) => at = skip_blocks(at + 2)?,
            Some(0x2C) => {
                let packed = *bytes.get(at + 9)?;
                at = skip_blocks(at + 10 + table(packed) + 1)?;
                frames += 1;
            }
            // The trailer, or damage after some frames: what was counted stands.
            _ => break,
        }
    }
    (frames > 0).then_some(frames)
}

/// Animated GIFs: the frame count as an observation; only the first frame is decoded and
/// hashed, so an animation over [`MAX_ANIMATION_FRAMES`] is an error record saying the rest
/// was not examined.
pub struct AnimationAnalyzer;

impl Analyzer for AnimationAnalyzer {
    fn name(&self) -> &'static str {
        "animation"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "frame count from the GIF block structure (exact for well-formed files; a damaged file counts the \
         frames before the damage); only the first frame is decoded and hashed"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.content.is_some() && item.content_type.is_some_and(|c| c.mime == "image/gif")
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        let bytes = item.content.unwrap_or_default();
        match gif_frame_count(bytes, MAX_ANIMATION_FRAMES + 1) {
            Some(n) if n > MAX_ANIMATION_FRAMES => Err(format!(
                "animated GIF of more than {MAX_ANIMATION_FRAMES} frames: only the first frame was examined"
            )),
            Some(n) if n > 1 => Ok(vec![ObservationDraft {
                kind: crate::model::ObservationKind::ImageAnimation,
                value: json!({ "frames": n, "frames_examined": 1 }),
                confidence: 1.0,
                provenance: json!({ "method": "GIF block structure" }),
            }]),
            _ => Ok(Vec::new()),
        }
    }
}

/// Containers kamadak-exif reads EXIF from, and GIF, which can carry only XMP.
fn has_exif_container(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg"
            | "image/tiff"
            | "image/png"
            | "image/webp"
            | "image/heif"
            | "image/heic"
            | "image/avif"
            | "image/gif"
    )
}

/// EXIF facts of every image that carries them (`image.exif`), and its position apart
/// (`image.gps`) so that rules and the map can use it directly.
pub struct ExifAnalyzer;

impl Analyzer for ExifAnalyzer {
    fn name(&self) -> &'static str {
        "exif"
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        "reports what the file states, not where or when the photo was taken: EXIF is trivially edited, \
         camera clocks drift and are often in local time with no zone; GPS equals the reference tools' \
         values to 1e-6 degree on the exif-py and exiftool fixtures"
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.content.is_some()
            && item
                .content_type
                .is_some_and(|c| has_exif_container(&c.mime))
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        has_exif_container(&content_type.mime) && size <= MAX_IMAGE_BYTES
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        self.analyze_partial(item).map(|(o, _)| o)
    }
    fn analyze_partial(
        &self,
        item: &ItemView,
    ) -> Result<(Vec<ObservationDraft>, Vec<String>), String> {
        let bytes = item.content.unwrap_or_default();
        // GIF has no EXIF block (only XMP, in an application extension).
        let is_gif = item.content_type.is_some_and(|c| c.mime == "image/gif");
        let (from_exif, damage) = match if is_gif {
            None
        } else {
            exif::read_partial(bytes)?
        } {
            Some((facts, damage)) => (Some(facts), damage),
            None => (None, Vec::new()),
        };
        let from_xmp = xmp::read(bytes);
        let facts = match (from_exif, from_xmp) {
            (None, Ok(None)) => return Ok((Vec::new(), damage)),
            (Some(f), Ok(None)) => f,
            (None, Err(e)) => return Err(e),
            (Some(mut f), Err(e)) => {
                f.invalid.push(format!("XMP packet ({e})"));
                f
            }
            (exif_facts, Ok(Some(x))) => {
                let mut f = exif_facts.unwrap_or_default();
                f.fill_from_xmp(x);
                f
            }
        };
        let gps_from_xmp = facts.from_xmp.iter().any(|f| f == "gps");
        let mut out = vec![ObservationDraft {
            kind: crate::model::ObservationKind::ImageExif,
            value: serde_json::to_value(&facts).unwrap_or_default(),
            confidence: 1.0,
            provenance: json!({ "reader": "kamadak-exif 0.6; XMP: quick-xml 0.38" }),
        }];
        if let Some(gps) = &facts.gps {
            out.push(ObservationDraft {
                kind: crate::model::ObservationKind::ImageGps,
                value: json!({ "latitude": gps.latitude, "longitude": gps.longitude, "altitude": gps.altitude }),
                confidence: 1.0,
                provenance: if gps_from_xmp {
                    json!({ "reader": "quick-xml 0.38", "tag": "XMP exif:GPSLatitude/GPSLongitude" })
                } else {
                    json!({ "reader": "kamadak-exif 0.6", "tag": "EXIF GPS IFD" })
                },
            });
        }
        Ok((out, damage))
    }
}

/// Hashes under this quality are left out of near-duplicate clustering, as Meta advises:
/// flat images all hash alike.
pub const MIN_CLUSTER_QUALITY: i64 = 50;
/// Members listed in each near-duplicate observation (the cluster size is always given).
const LISTED_MEMBERS: usize = 20;

/// Recomputes the near-duplicate clusters over every `image.pdq` in the case (across all
/// sources: the same picture on two devices is the point) and stores one
/// `image.near_duplicate` observation per clustered image, replacing the previous ones.
/// A store-level pass after the walk, since it needs all images at once.
/// Clusters the case's pictures by PDQ distance (`rows` as [`crate::store::pdq_observations`]
/// reads them, by source and path): each member of a cluster gets an `image.near_duplicate`
/// observation naming its cluster and nearest members. Pure: the engine stores what it returns.
pub fn near_duplicates(
    rows: &[crate::model::StoredPdq],
    max_distance: u32,
) -> Result<crate::model::PassOutput, String> {
    let hashes: Vec<pdq::PdqHash> = rows
        .iter()
        .filter(|r| {
            r.value["quality"]
                .as_i64()
                .is_some_and(|q| q >= MIN_CLUSTER_QUALITY)
        })
        .map(|r| {
            r.value["hash"]
                .as_str()
                .and_then(pdq::PdqHash::from_hex)
                .ok_or_else(|| stored_value_error(r.item, "image.pdq hash", &r.value["hash"]))
        })
        .collect::<Result<_, _>>()?;
    let rows: Vec<&crate::model::StoredPdq> = rows
        .iter()
        .filter(|r| {
            r.value["quality"]
                .as_i64()
                .is_some_and(|q| q >= MIN_CLUSTER_QUALITY)
        })
        .collect();
    let groups = neardup::clusters(&hashes, max_distance);
    let mut observations = Vec::new();
    for group in &groups {
        let first = rows[group[0]];
        let cluster = format!(
            "{}/{}",
            first.source,
            crate::evidence::display_path(&first.path)
        );
        for &member in group {
            let mut others: Vec<(u32, usize)> = group
                .iter()
                .filter(|&&o| o != member)
                .map(|&o| (hashes[member].hamming(&hashes[o]), o))
                .collect();
            others.sort_unstable();
            let listed: Vec<_> = others
                .iter()
                .take(LISTED_MEMBERS)
                .map(|&(d, o)| json!({"source": rows[o].source, "path": crate::evidence::display_path(&rows[o].path), "distance": d}))
                .collect();
            observations.push((
                rows[member].item,
                ObservationDraft {
                    kind: crate::model::ObservationKind::ImageNearDuplicate,
                    value: json!({"cluster": cluster, "size": group.len(), "nearest_distance": others[0].0, "members": listed}),
                    confidence: 1.0,
                    provenance: json!({"max_distance": max_distance, "min_quality": MIN_CLUSTER_QUALITY}),
                },
            ));
        }
    }
    Ok(crate::model::PassOutput {
        card: NEAR_DUPLICATES,
        replaces: &[crate::model::ObservationKind::ImageNearDuplicate],
        observations,
    })
}

/// A value spoor stored that does not read back: the case store is damaged.
fn stored_value_error(item: crate::model::ItemId, what: &str, value: &serde_json::Value) -> String {
    format!(
        "item {}: stored {what} does not read back ({}): the case store is damaged",
        item.0,
        value.to_string().chars().take(80).collect::<String>()
    )
}

use crate::model::PassCard;

const NEAR_DUPLICATES: PassCard = PassCard {
    name: "neardup",
    version: "1",
    error_margin: "PDQ distance <= 31 of 256 bits (Meta's match threshold), single linkage: two images can share a \
         cluster through a chain of near pairs; hashes of quality < 50 are left out; resized, re-encoded and \
         lightly edited copies are found, crops and heavy edits often are not",
};

/// Matches every image of the case (quality >= 50) against the PDQ lists, with all eight
/// dihedral hashes so a rotated or mirrored copy still matches; the nearest entry within
/// `max_distance` of each list becomes an `image.pdq_match` observation. Idempotent.
pub fn match_pdq_lists(
    rows: &[crate::model::StoredPdq],
    lists: &[pdqlist::PdqList],
    max_distance: u32,
) -> crate::model::PassOutput {
    let mut observations = Vec::new();
    let images = rows.iter().filter(|r| {
        r.value["quality"]
            .as_i64()
            .is_some_and(|q| q >= MIN_CLUSTER_QUALITY)
    });
    for row in images {
        let value = &row.value;
        let mut variants: Vec<(&str, pdq::PdqHash)> = Vec::new();
        if let Some(h) = value["hash"].as_str().and_then(pdq::PdqHash::from_hex) {
            variants.push(("original", h));
        }
        if let Some(d) = value["dihedral"].as_object() {
            for (name, h) in d {
                if let Some(h) = h.as_str().and_then(pdq::PdqHash::from_hex) {
                    variants.push((name.as_str(), h));
                }
            }
        }
        for list in lists {
            let best = variants
                .iter()
                .flat_map(|(transform, h)| {
                    list.index
                        .within(h, max_distance)
                        .into_iter()
                        .map(move |(k, d)| (d, k, *transform))
                })
                .min();
            let Some((distance, entry, transform)) = best else {
                continue;
            };
            observations.push((
                row.item,
                ObservationDraft {
                    kind: crate::model::ObservationKind::ImagePdqMatch,
                    value: json!({
                        "list": list.name,
                        "status": list.spec.status.as_str(),
                        "category": list.entries[entry].1.clone().or_else(|| list.spec.category.clone()),
                        "distance": distance,
                        "transform": transform,
                        "entry_hash": list.entries[entry].0.to_hex(),
                    }),
                    confidence: pdqlist::match_confidence(distance),
                    provenance: json!({"list_sha256": list.file_sha256.to_hex(), "max_distance": max_distance}),
                },
            ));
        }
    }
    crate::model::PassOutput {
        card: PDQ_LISTS,
        replaces: &[],
        observations,
    }
}

const PDQ_LISTS: PassCard = PassCard {
    name: "pdqlist",
    version: "1",
    error_margin: "perceptual match, not identity: within 31 of 256 bits (Meta's threshold) of a listed hash, over the \
         image's eight rotations/mirrorings; confidence falls from 1.0 at distance 0 to 0.5 at 31; visually \
         similar but different pictures can match, and the list itself may be wrong",
};
