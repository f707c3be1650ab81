//! Image stages beyond PDQ and GPS: HEIC/HEIF/AVIF through libheif, XMP, thumbnails, animated
//! GIFs and corrupt EXIF structures, each through a real scan.

mod common;

use std::path::Path;

use common::{data, expect_code, export};
use spoor::media::pdq::PdqHash;

fn scan(evidence: &Path, case: &Path) -> std::process::Output {
    common::scan(evidence, case, "Test Examiner", &["--quiet"])
}

fn observation<'a>(obs: &'a [serde_json::Value], path: &str, kind: &str) -> &'a serde_json::Value {
    obs.iter()
        .find(|o| o["path"] == path && o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} for {path}"))
}

#[test]
fn heif_and_avif_decode_to_the_reference_pdq() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let o = scan(&data("heif"), &case);
    // broken-quicktime.heic (exiftool's 623-byte test file: a header, no picture) is the one error.
    expect_code(&o, 2, "scan of the HEIF fixtures");
    let obs = export(&case, "observations");
    let expected = std::fs::read_to_string(data("heif/expected.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let (file, width, height, hash, quality) = (c[0], c[1], c[2], c[3], c[4]);
        let v = &observation(&obs, file, "image.pdq")["value"];
        assert_eq!(v["width"].to_string(), width, "{file}");
        assert_eq!(v["height"].to_string(), height, "{file}");
        assert_eq!(v["quality"].to_string(), quality, "{file}");
        let d = PdqHash::from_hex(v["hash"].as_str().unwrap())
            .unwrap()
            .hamming(&PdqHash::from_hex(hash).unwrap());
        // Meta's C++ on libheif's pixels: the same decoder, so the same bits (0 today).
        assert!(d <= 2, "{file}: {d} bits from the reference");
        assert_eq!(
            observation(&obs, file, "image.pdq")["provenance"]["decoder"],
            "libheif"
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
    // EXIF out of the HEIF container, as exiftool prints it.
    let spring = &observation(&obs, "spring_1440x960.heic", "image.exif")["value"];
    assert_eq!(spring["datetime_original"], "2020-12-03T15:04:31.04");
    assert_eq!(spring["time_zone"], "local time, zone unknown");
    let avif = &observation(&obs, "mountains.avif", "image.exif")["value"];
    assert_eq!(avif["make"], "OLYMPUS CORPORATION");
    assert_eq!(avif["model"], "E-PL8");

    let errors = export(&case, "errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "broken-quicktime.heic");
    assert_eq!(errors[0]["stage"], "image.decode");
    assert!(errors[0]["reason"].as_str().unwrap().contains("HEIF"));
}

#[test]
fn xmp_gives_what_exif_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(data("exif/xmp-gps.jpg"), ev.join("xmp-gps.jpg")).unwrap();
    expect_code(&scan(&ev, &case), 0, "scan");
    let obs = export(&case, "observations");
    // `exiftool -n -gpslatitude -gpslongitude -gpsaltitude xmp-gps.jpg` prints
    // -33.856784 151.215297 12.5 (the file holds "33,51.40704S", "151,12.91782E", "25/2").
    let gps = observation(&obs, "xmp-gps.jpg", "image.gps");
    assert!((gps["value"]["latitude"].as_f64().unwrap() - -33.856784).abs() < 1e-6);
    assert!((gps["value"]["longitude"].as_f64().unwrap() - 151.215297).abs() < 1e-6);
    assert_eq!(gps["value"]["altitude"], 12.5);
    assert!(
        gps["provenance"]["tag"]
            .as_str()
            .unwrap()
            .starts_with("XMP")
    );
    let exif = &observation(&obs, "xmp-gps.jpg", "image.exif")["value"];
    assert_eq!(exif["datetime_original"], "2024-03-09T14:21:07");
    assert_eq!(exif["utc_offset"], "+11:00");
    assert_eq!(exif["time_zone"], "+11:00");
    assert_eq!(exif["make"], "Apple");
    assert_eq!(exif["model"], "iPhone 12");
    assert_eq!(exif["body_serial_number"], "F17XK123");
    assert_eq!(exif["lens"], "iPhone 12 back camera 4.2mm f/1.6");
    assert_eq!(exif["software"], "17.3.1");
    let from_xmp: Vec<&str> = exif["from_xmp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(from_xmp.contains(&"gps") && from_xmp.contains(&"datetime_original"));
}

#[test]
fn thumbnails_are_small_reencoded_jpegs_keyed_by_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    std::fs::create_dir_all(&ev).unwrap();
    for f in ["bridge-1-original.jpg", "wee.jpg", "LA.png"] {
        std::fs::copy(data(&format!("pdq/{f}")), ev.join(f)).unwrap();
    }
    expect_code(&scan(&ev, &case), 0, "scan");
    let items = export(&case, "items");
    for f in ["bridge-1-original.jpg", "wee.jpg", "LA.png"] {
        let item = items.iter().find(|i| i["path"] == f).unwrap();
        let sha = item["sha256"].as_str().unwrap();
        let thumb = case
            .join("thumbs")
            .join(&sha[..2])
            .join(format!("{sha}.jpg"));
        let bytes = std::fs::read(&thumb).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            "{f}: thumbnail is not JPEG"
        );
        let original = std::fs::read(ev.join(f)).unwrap();
        assert_ne!(
            bytes, original,
            "{f}: the thumbnail is a copy of the original"
        );
        let img = image::load_from_memory(&bytes).unwrap();
        let original = image::load_from_memory(&original).unwrap();
        assert!(img.width() <= 256 && img.height() <= 256, "{f}");
        if original.width() <= 256 && original.height() <= 256 {
            assert_eq!(
                (img.width(), img.height()),
                (original.width(), original.height())
            );
        } else {
            // The long side is 256 and the aspect ratio kept to a pixel.
            assert_eq!(img.width().max(img.height()), 256, "{f}");
            let ratio = |w: u32, h: u32| w as f64 / h as f64;
            let tolerance = 1.0 / img.width().min(img.height()) as f64 * 2.0;
            assert!(
                (ratio(img.width(), img.height()) - ratio(original.width(), original.height()))
                    .abs()
                    < tolerance
            );
        }
    }
}

fn gif(frames: usize, side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for i in 0..frames {
            let img = image::RgbaImage::from_fn(side, side, |x, y| {
                image::Rgba([(x * 4) as u8, (y * 4) as u8, (i % 251) as u8, 255])
            });
            enc.encode_frame(image::Frame::new(img)).unwrap();
        }
    }
    out
}

#[test]
fn animated_gifs_are_counted_and_a_huge_one_is_an_error_record() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(&ev.join("short.gif"), &gif(3, 64));
    common::write(&ev.join("endless.gif"), &gif(3000, 64));
    let o = scan(&ev, &case);
    expect_code(&o, 2, "scan with a 3000-frame GIF");
    let obs = export(&case, "observations");
    assert_eq!(
        observation(&obs, "short.gif", "image.animation")["value"]["frames"],
        3
    );
    // Both are still hashed from their first frame.
    observation(&obs, "short.gif", "image.pdq");
    observation(&obs, "endless.gif", "image.pdq");
    let errors = export(&case, "errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "endless.gif");
    assert_eq!(errors[0]["stage"], "animation");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("more than 1000 frames")
    );
}

/// A JPEG whose EXIF block is hostile: `ifd` is the TIFF structure after "Exif\0\0".
fn jpeg_with_exif(tiff: &[u8]) -> Vec<u8> {
    let base = std::fs::read(data("pdq/wee.jpg")).unwrap();
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&base[2..]);
    out
}

/// A little-endian TIFF header and one IFD at offset 8 with the given (tag, type, count, value) entries.
fn tiff(entries: &[(u16, u16, u32, u32)], next_ifd: u32) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for &(tag, typ, count, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&next_ifd.to_le_bytes());
    t
}

#[test]
fn corrupt_exif_structures_are_errors_or_nothing_never_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    // The Exif IFD pointer points back at IFD0, which points at itself again: a loop.
    common::write(
        &ev.join("loop.jpg"),
        &jpeg_with_exif(&tiff(&[(0x8769, 4, 1, 8)], 0)),
    );
    // IFD0's next-IFD offset points at IFD0.
    common::write(
        &ev.join("loop-next.jpg"),
        &jpeg_with_exif(&tiff(&[(0x010F, 2, 4, 0x0041_4141)], 8)),
    );
    // A Make string 4 GB into a 1 KB file, and a GPS IFD far past the end.
    common::write(
        &ev.join("absurd.jpg"),
        &jpeg_with_exif(&tiff(
            &[(0x010F, 2, 100, 0xFFFF_FF00), (0x8825, 4, 1, 0x7FFF_FFF0)],
            0,
        )),
    );
    let o = scan(&ev, &case);
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    let obs = export(&case, "observations");
    let errors = export(&case, "errors");
    for f in ["loop.jpg", "loop-next.jpg", "absurd.jpg"] {
        // The picture itself is fine: it is hashed whatever its EXIF.
        observation(&obs, f, "image.pdq");
        assert!(
            !obs.iter()
                .any(|o| o["path"] == f && o["kind"] == "image.gps"),
            "{f}: a position was invented"
        );
        // The loops and the absurd offsets are reported, not silently dropped.
        let error = errors
            .iter()
            .find(|e| e["path"] == f && e["stage"] == "exif")
            .unwrap_or_else(|| panic!("{f}: no exif error: {errors:?}"));
        let reason = error["reason"].as_str().unwrap();
        let expected = if f == "absurd.jpg" {
            "Truncated"
        } else {
            "visited IFD"
        };
        assert!(reason.contains(expected), "{f}: {reason}");
    }
}

#[test]
fn all_eight_exif_orientations_hash_as_the_same_upright_picture() {
    // exif-py's orientation set: one photo stored eight ways, each with the Orientation tag
    // that makes a viewer show it upright.
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    expect_code(&scan(&data("exif/orientation"), &case), 0, "scan");
    let obs = export(&case, "observations");
    let hash = |n: u32| {
        let v = &observation(&obs, &format!("landscape_{n}.jpg"), "image.pdq")["value"];
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(600), Some(450)),
            "landscape_{n}"
        );
        PdqHash::from_hex(v["hash"].as_str().unwrap()).unwrap()
    };
    let upright = hash(1);
    for n in 2..=8 {
        let exif = &observation(&obs, &format!("landscape_{n}.jpg"), "image.exif")["value"];
        assert_eq!(exif["orientation"], n);
        // Stored rotated or mirrored, the pixels differ by ~128 bits; shown upright they are the
        // same picture, up to the JPEG re-encoding of each file (measured: 10-16 bits).
        let d = hash(n).hamming(&upright);
        assert!(d <= 20, "landscape_{n}: {d} bits from landscape_1");
    }
}

#[test]
fn crash_regressions_keep_what_parses_and_say_what_does_not() {
    // exif-py's regression files (each crashed a parser once) and a Photoshop XMP sample.
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let o = scan(&data("exif/regressions"), &case);
    expect_code(&o, 2, "scan of the regression files");
    let obs = export(&case, "observations");
    let errors = export(&case, "errors");
    let items = export(&case, "items");
    // exiftool reads a capture time from each; so must we, damaged pointers or not.
    for (file, when) in [
        ("11-tests.jpg", "2007-09-03T16:03:45"),
        ("30-type_error.jpg", "2013-07-05T03:18:27"),
        ("32-lens_data.jpeg", "2012-07-14T16:30:12.68"),
        ("33-type_error.jpg", "2008-05-25T19:31:26.0"),
        ("45-gps_ifd.jpg", "2012-06-23T06:55:49"),
    ] {
        let exif = &observation(&obs, file, "image.exif")["value"];
        assert_eq!(exif["datetime_original"], when, "{file}");
        assert!(
            items
                .iter()
                .any(|i| i["path"] == file && i["sha256"].is_string())
        );
        observation(&obs, file, "image.pdq");
    }
    // The two with a bad pointer: the damage is an error record beside the kept fields.
    for file in ["30-type_error.jpg", "45-gps_ifd.jpg"] {
        let e = errors
            .iter()
            .find(|e| e["path"] == file && e["stage"] == "exif")
            .unwrap_or_else(|| panic!("{file}: damage not recorded: {errors:?}"));
        assert!(e["reason"].as_str().unwrap().contains("kept"), "{e}");
    }
    // GIMP writes EXIF-style dates into XMP; they are read, not reported as invalid.
    let lens = &observation(&obs, "32-lens_data.jpeg", "image.exif")["value"];
    assert_eq!(lens["invalid"].as_array().unwrap().len(), 0, "{lens}");
}

#[test]
fn xmp_capture_time_with_its_zone_when_exif_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(data("exif/BlueSquare.jpg"), ev.join("BlueSquare.jpg")).unwrap();
    expect_code(&scan(&ev, &case), 0, "scan");
    let obs = export(&case, "observations");
    // exiftool: XMP CreateDate 2005:09:07 15:07:40-07:00; the EXIF block has no capture time.
    let exif = &observation(&obs, "BlueSquare.jpg", "image.exif")["value"];
    assert_eq!(exif["datetime_original"], "2005-09-07T15:07:40");
    assert_eq!(exif["utc_offset"], "-07:00");
    assert_eq!(exif["from_xmp"], serde_json::json!(["datetime_original"]));
    assert_eq!(exif["software"], "Adobe Photoshop CS2 Macintosh");
}

#[test]
fn every_image_format_decodes_to_the_same_pixels() {
    // The bridge photo's pixels written as PNG, BMP, TIFF and lossless WebP must hash alike
    // bit for bit (same pixels), GIF (256 colours) within the reference tolerance.
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    std::fs::create_dir_all(&ev).unwrap();
    let rgb = image::open(data("pdq/bridge-1-original.jpg"))
        .unwrap()
        .to_rgb8();
    for (name, format) in [
        ("bridge.png", image::ImageFormat::Png),
        ("bridge.bmp", image::ImageFormat::Bmp),
        ("bridge.tiff", image::ImageFormat::Tiff),
        ("bridge.webp", image::ImageFormat::WebP),
    ] {
        rgb.save_with_format(ev.join(name), format).unwrap();
    }
    image::DynamicImage::ImageRgb8(rgb.clone())
        .to_rgba8()
        .save_with_format(ev.join("bridge.gif"), image::ImageFormat::Gif)
        .unwrap();
    expect_code(&scan(&ev, &case), 0, "scan");
    let obs = export(&case, "observations");
    let hash = |f: &str| {
        PdqHash::from_hex(
            observation(&obs, f, "image.pdq")["value"]["hash"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    };
    let png = hash("bridge.png");
    for f in ["bridge.bmp", "bridge.tiff", "bridge.webp"] {
        assert_eq!(hash(f), png, "{f}");
    }
    let d = hash("bridge.gif").hamming(&png);
    assert!(d <= 16, "GIF: {d} bits");
    let items = export(&case, "items");
    let mime = |f: &str| items.iter().find(|i| i["path"] == f).unwrap()["mime"].clone();
    assert_eq!(mime("bridge.webp"), "image/webp");
    assert_eq!(mime("bridge.bmp"), "image/bmp");
    assert_eq!(mime("bridge.tiff"), "image/tiff");
}
