//! PDQ conformance against Meta's published vectors (tests/data/pdq/SOURCES.md).
//!
//! Implementations differ by a few bits because JPEG decoders differ; the reference test
//! suites accept Hamming distance <= 16 between implementations, and so does this test. The
//! worst case seen here is 12 bits (a pure-Python vector); against the Java and C++ vectors
//! (bridge-1, bridge-2, LA.png, rgb.jpeg) the distance is 0.

mod common;

use common::data;
use spoor::media::pdq::{self, PdqHash};

const TOLERANCE: u32 = 16;

fn hash_file(name: &str) -> pdq::Dihedral {
    let bytes = std::fs::read(data(&format!("pdq/{name}"))).unwrap();
    pdq::dihedral_of_image_bytes(&bytes)
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: too small to hash"))
}

#[test]
fn every_published_vector_is_within_the_reference_tolerance() {
    let tsv = std::fs::read_to_string(data("pdq/expected.tsv")).unwrap();
    let mut worst = (0, String::new());
    let mut failures = Vec::new();
    let mut exact_vectors = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, expected, note) = (cols[0], PdqHash::from_hex(cols[1]).unwrap(), cols[3]);
        let ours = hash_file(file).original;
        let distance = ours.hamming(&expected);
        if distance > worst.0 {
            worst = (distance, format!("{file} ({note})"));
        }
        if distance > TOLERANCE {
            failures.push(format!(
                "{file}: {distance} bits from {expected} ({note}); ours {ours}"
            ));
        }
        // Same decoder family as Java/C++ (libjpeg-style IDCT): these match bit for bit today.
        if note.starts_with("java") || note.contains("C++") || note.contains("CLI `file`") {
            exact_vectors += 1;
            assert!(
                distance <= 2,
                "{file}: {distance} bits from the Java/C++ vector ({note})"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "beyond tolerance {TOLERANCE}:\n{}",
        failures.join("\n")
    );
    assert_eq!(exact_vectors, 5);
    eprintln!("worst distance {} bits: {}", worst.0, worst.1);
}

#[test]
fn dihedral_hashes_match_the_transformed_files() {
    let original = hash_file("bridge-1-original.jpg");
    let cases = [
        ("bridge-2-rotate-90.jpg", original.rotate90),
        ("bridge-3-rotate-180.jpg", original.rotate180),
        ("bridge-4-rotate-270.jpg", original.rotate270),
        ("bridge-5-flipx.jpg", original.flip_x),
        ("bridge-6-flipy.jpg", original.flip_y),
        ("bridge-7-flip-plus-1.jpg", original.flip_plus1),
        ("bridge-8-flip-minus-1.jpg", original.flip_minus1),
    ];
    for (file, from_coefficients) in cases {
        let direct = hash_file(file).original;
        let d = from_coefficients.hamming(&direct);
        assert!(
            d <= TOLERANCE,
            "{file}: {d} bits between its hash and the transform of the original's"
        );
        // And the transform is not trivially close to the untransformed hash.
        assert!(original.original.hamming(&direct) > 64, "{file}");
    }
}

#[test]
fn quality_is_on_the_reference_scale() {
    // The reference Python tool prints quality=100 for the bridge photos (pdq/python/README.md).
    assert_eq!(hash_file("square-128x128.jpg").quality, 100);
    assert_eq!(hash_file("bridge-1-original.jpg").quality, 100);
    // A flat image has no significant gradient.
    let flat = pdq::hash_luma(vec![128.0; 100 * 100], 100, 100).unwrap();
    assert_eq!(flat.quality, 0);
}

#[test]
fn an_undecodable_file_is_an_error_not_a_panic() {
    let mut truncated = std::fs::read(data("pdq/wee.jpg")).unwrap();
    truncated.truncate(200);
    assert!(pdq::dihedral_of_image_bytes(&truncated).is_err());
    assert!(pdq::dihedral_of_image_bytes(b"not an image").is_err());
}

/// A PNG whose header claims `width` x `height` RGB pixels, with an empty compressed stream:
/// a few dozen bytes on disk, 7.5 GB if a decoder believed the header.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    spoor::demo::png_container(
        width,
        height,
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    )
}

#[test]
fn scanned_images_get_pdq_observations_and_bad_images_error_records() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    common::write(
        &evidence.join("a/bridge.jpg"),
        &std::fs::read(data("pdq/bridge-1-original.jpg")).unwrap(),
    );
    common::write(
        &evidence.join("b/copy-of-bridge.dat"),
        &std::fs::read(data("pdq/bridge-1-original.jpg")).unwrap(),
    );
    common::write(
        &evidence.join("c/bridge-square-128.jpg"),
        &std::fs::read(data("pdq/square-128x128.jpg")).unwrap(),
    );
    common::write(
        &evidence.join("c/other.jpg"),
        &std::fs::read(data("pdq/q2821.jpg")).unwrap(),
    );
    common::write(&evidence.join("bomb.png"), &png_bomb(50_000, 50_000));
    let mut truncated = std::fs::read(data("pdq/wee.jpg")).unwrap();
    truncated.truncate(truncated.len() / 3);
    common::write(&evidence.join("truncated.jpg"), &truncated);
    common::write(&evidence.join("notes.txt"), b"not an image");
    let case = tmp.path().join("case");
    let o = common::scan(&evidence, &case, "T", &["--quiet"]);
    common::expect_code(&o, 2, "scan with two bad images");

    let obs = common::export(&case, "observations");
    let pdq_of = |p: &str| {
        obs.iter()
            .find(|o| o["path"] == p && o["kind"] == "image.pdq")
            .unwrap_or_else(|| panic!("no image.pdq for {p}"))["value"]
            .clone()
    };
    let bridge = pdq_of("a/bridge.jpg");
    // Typed by content, not by name: the .dat copy is hashed too, to the same value.
    assert_eq!(pdq_of("b/copy-of-bridge.dat")["hash"], bridge["hash"]);
    // Java's exact vector for this photo (PDQHasherTest.java).
    assert_eq!(
        bridge["hash"],
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    );
    assert_eq!(bridge["quality"], 100);
    assert_eq!(bridge["dihedral"].as_object().unwrap().len(), 7);

    // The copy and the 128 x 128 re-encode of the same photo form one near-duplicate cluster;
    // the unrelated photo is in none.
    let near = |p: &str| {
        obs.iter()
            .find(|o| o["path"] == p && o["kind"] == "image.near_duplicate")
            .map(|o| o["value"].clone())
    };
    let cluster = near("a/bridge.jpg").expect("the bridge photo is clustered");
    assert_eq!(cluster["size"], 3, "{cluster}");
    assert_eq!(cluster["nearest_distance"], 0);
    assert_eq!(cluster["members"][0]["path"], "b/copy-of-bridge.dat");
    assert!(cluster["members"][1]["distance"].as_u64().unwrap() <= 31);
    assert_eq!(
        near("c/bridge-square-128.jpg").unwrap()["cluster"],
        cluster["cluster"]
    );
    assert!(near("c/other.jpg").is_none());

    let errors = common::export(&case, "errors");
    let reason = |p: &str| {
        errors
            .iter()
            .find(|e| e["path"] == p && e["stage"] == "image.decode")
            .unwrap_or_else(|| panic!("no decode error for {p}: {errors:?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("bomb.png").contains("limit"),
        "{}",
        reason("bomb.png")
    );
    assert!(
        reason("truncated.jpg").starts_with("decode:"),
        "{}",
        reason("truncated.jpg")
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    // Nothing lost: the bad images are items with their digests.
    let items = common::export(&case, "items");
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "bomb.png" && !i["sha256"].is_null())
    );
}

/// `jpeg` with an EXIF APP1 segment holding only Orientation = `orientation`, right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied_before_hashing() {
    // q1050.jpg carries no EXIF of its own.
    let plain = std::fs::read(data("pdq/q1050.jpg")).unwrap();
    let tagged = with_orientation(&plain, 6); // "rotate 90 clockwise to display"
    assert_eq!(
        spoor::media::exif::read(&tagged)
            .unwrap()
            .unwrap()
            .orientation,
        Some(6)
    );
    let stored = pdq::dihedral_of_image_bytes(&plain)
        .unwrap()
        .unwrap()
        .original;
    let shown = pdq::dihedral_of_image_bytes(&tagged)
        .unwrap()
        .unwrap()
        .original;
    let turned = image::load_from_memory(&plain)
        .unwrap()
        .rotate90()
        .to_rgb8();
    let by_hand = pdq::hash_luma(
        pdq::luma_from_rgb8(turned.as_raw()),
        turned.height() as usize,
        turned.width() as usize,
    )
    .unwrap()
    .hash;
    assert_eq!(
        shown, by_hand,
        "the tagged file is not hashed as the picture turned a quarter clockwise"
    );
    assert!(
        stored.hamming(&shown) > 64,
        "orientation 6 made no difference"
    );
}

#[test]
fn a_rotated_copy_of_a_listed_image_matches_a_pdq_list_and_raises_a_lead() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    // The list holds the hash of the *rotated* bridge (Java's exact vector for
    // bridge-2-rotate-90.jpg); the evidence holds the upright photo.
    common::write(
        &evidence.join("photo.jpg"),
        &std::fs::read(data("pdq/bridge-1-original.jpg")).unwrap(),
    );
    common::write(
        &evidence.join("other.jpg"),
        &std::fs::read(data("pdq/q2821.jpg")).unwrap(),
    );
    let list = tmp.path().join("known.pdq");
    std::fs::write(&list, "# test list\n30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af,CAT-1\nnot a hash\n").unwrap();
    let case = tmp.path().join("case");
    let o = common::scan(
        &evidence,
        &case,
        "T",
        &["--pdqlist", &format!("{}:bad", list.display())],
    );
    common::expect_code(&o, 0, "scan with a PDQ list");
    assert!(
        common::stdout(&o).contains("known.pdq: line 3: not a 64-hex PDQ hash"),
        "{}",
        common::stdout(&o)
    );
    let obs = common::export(&case, "observations");
    let matches: Vec<_> = obs
        .iter()
        .filter(|o| o["kind"] == "image.pdq_match")
        .collect();
    assert_eq!(matches.len(), 1, "{matches:?}");
    let m = &matches[0];
    assert_eq!(m["path"], "photo.jpg");
    assert_eq!(m["value"]["category"], "CAT-1");
    assert_ne!(
        m["value"]["transform"], "original",
        "matched through a dihedral hash"
    );
    assert!(m["value"]["distance"].as_u64().unwrap() <= TOLERANCE as u64);
    let leads = common::export(&case, "leads");
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["rules"], serde_json::json!(["pdq-known-bad"]));
}
