//! `spoor demo-data DIR`: a small, deterministic, synthetic evidence set made in code.
//!
//! Three "devices" (a laptop, a phone, a USB stick) with documents and images, files whose
//! extension lies about their content, files listed in the bundled demo hash sets (one
//! known-bad with a category, one known-good in NSRL RDS layout), nested folders, a name that
//! is not UTF-8 and one holding a terminal escape. The same call always writes the same bytes
//! and the same modification times. Hash sets go to `DIR/hashsets`, beside (not inside) the
//! device folders, since they are reference data and not evidence.

use std::os::unix::ffi::OsStrExt;

use image::ImageEncoder;
use std::path::{Path, PathBuf};

use crate::evidence::digest::TripleHasher;

/// What was written, for the caller to pass on to a scan.
pub struct DemoSet {
    pub devices: Vec<PathBuf>,
    pub known_bad: PathBuf,
    pub known_good: PathBuf,
    /// PDQ hashes of known-bad pictures (the flagged picture's).
    pub known_bad_pdq: PathBuf,
    /// A watch list of entities (the cell's IBAN), for `--watchlist`.
    pub watchlist: PathBuf,
    /// Places of interest (a handover square), for `--places-of-interest`.
    pub places_of_interest: PathBuf,
    /// What was planted, for scripts/bench-leads.sh: the leads the scenario should raise.
    pub ground_truth: PathBuf,
}

/// The device owners a demo scan names (`--owner LABEL=IDENTIFIER`).
pub const OWNERS: &[&str] = &[
    "phone-anna=+31612345678",
    "phone-anna=Anna",
    "phone-kees=+31655555555",
    "phone-kees=Kees",
    "laptop-bram=bram@harbourfreight.example",
    "laptop-bram=Bram",
];

/// The object classes of interest a demo scan names (the van and the courier's bicycle seen
/// at the pier).
pub const OBJECTS_OF_INTEREST: &str = "truck,bicycle";

/// A real photo with GPS (a Nikon Coolpix P6000 sample of exif-py, BSD-3; tests/data/exif/
/// SOURCES.md): the handover square of the places of interest is where it was taken.
const PHOTO_WITH_GPS: &[u8] = include_bytes!("../tests/data/exif/DSCN0010.jpg");
/// Another photo of the same series, 40 m from the first: on Bram's laptop, so two devices
/// were at the square.
const PHOTO_AT_SQUARE: &[u8] = include_bytes!("../tests/data/exif/DSCN0012.jpg");
/// A real photo in which NanoDet finds a truck, a bicycle and a dog (darknet's data/dog.jpg,
/// public domain; tests/data/vision/SOURCES.md).
const PHOTO_WITH_VAN: &[u8] = include_bytes!("../tests/data/vision/dog.png");

/// The flagged picture as a messenger passes it on: scaled to three quarters and saved as JPEG
/// (quality 80): different bytes, no hash-set match, but within PDQ's distance.
fn flagged_forwarded() -> Vec<u8> {
    let img = image::load_from_memory(&flagged_picture())
        .expect("the demo picture decodes")
        .resize_exact(288, 192, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("encoding to memory");
    out
}

/// The second phone, Kees's: texts and calls with Bram (one holds the watch-listed IBAN) and
/// with the courier's second burner, a photo taken at the handover square, a photo of the van,
/// and the flagged picture forwarded.
fn phone_kees_files() -> Vec<(&'static str, Vec<u8>, Vec<u8>, char)> {
    // Milliseconds of a UTC time in 2024.
    let at = |month: u32, day: u32, hour: u32, minute: u32| {
        let days_before_month = [0, 31, 60][(month - 1) as usize] as i64;
        let days = 19_723 + days_before_month + day as i64 - 1; // 2024-01-01 is day 19,723
        ((days * 24 + hour as i64) * 60 + minute as i64) * 60_000
    };
    let sms = |address: &str, when: i64, kind: u8, body: &str| {
        format!(
            "  <sms protocol=\"0\" address=\"{address}\" date=\"{when}\" type=\"{kind}\" body=\"{body}\" read=\"1\" status=\"-1\" />\n"
        )
    };
    let bram = "+31622222222";
    let burner = "+31644444444";
    let texts = [
        sms(
            bram,
            at(2, 1, 18, 2),
            1,
            "New route from March. Interested?",
        ),
        sms(bram, at(2, 1, 18, 10), 2, "Yes"),
        sms(
            bram,
            at(3, 4, 11, 0),
            1,
            "Van money to NL91 ABNA 0417 1643 00 by Friday",
        ),
        sms(burner, at(3, 6, 9, 0), 1, "Package at the square at 14:00"),
        sms(burner, at(3, 6, 9, 5), 2, "OK"),
        sms(burner, at(3, 7, 8, 0), 1, "Done. Next one Thursday"),
        sms(bram, at(3, 8, 19, 15), 2, "All paid."),
    ];
    let backup = format!(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"{}\">\n{}</smses>\n",
        texts.len(),
        texts.concat()
    );
    let call = |number: &str, seconds: u32, when: i64, kind: u8| {
        format!(
            "  <call number=\"{number}\" duration=\"{seconds}\" date=\"{when}\" type=\"{kind}\" presentation=\"1\" />\n"
        )
    };
    let calls = format!(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<calls count=\"3\">\n{}{}{}</calls>\n",
        call(bram, 240, at(2, 20, 17, 30), 1),
        call(bram, 95, at(3, 3, 20, 0), 2),
        call(burner, 40, at(3, 6, 12, 50), 1),
    );
    let bram_card =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bram\r\nTEL;TYPE=CELL:+31 6 2222 2222\r\nEND:VCARD\r\n";
    vec![
        (
            "phone-kees",
            b"Backups/sms-20240308.xml".to_vec(),
            backup.into_bytes(),
            '-',
        ),
        (
            "phone-kees",
            b"Backups/calls-20240308.xml".to_vec(),
            calls.into_bytes(),
            '-',
        ),
        (
            "phone-kees",
            b"Contacts/bram.vcf".to_vec(),
            bram_card.as_bytes().to_vec(),
            '-',
        ),
        (
            "phone-kees",
            b"DCIM/Camera/DSCN0010.jpg".to_vec(),
            PHOTO_WITH_GPS.to_vec(),
            '-',
        ),
        (
            "laptop-bram",
            b"Pictures/Camera/DSCN0012.jpg".to_vec(),
            PHOTO_AT_SQUARE.to_vec(),
            '-',
        ),
        (
            "phone-kees",
            b"DCIM/Camera/IMG_20240306_pier.png".to_vec(),
            PHOTO_WITH_VAN.to_vec(),
            '-',
        ),
        (
            "phone-kees",
            b"Messages/Media/IMG-20240306-0002.jpg".to_vec(),
            flagged_forwarded(),
            '-',
        ),
    ]
}

/// The leads the scenario plants, as scripts/bench-leads.sh reads them: each with the rule
/// that should raise it. `expected` are true leads of the demo that are not the scenario's
/// (the other known-bad files, the disguised files, the cells' leaders).
const GROUND_TRUTH: &str = r#"{
  "planted": [
    {"subject": "identity", "key": "device-owner:laptop-bram", "rule": "network-broker", "why": "Bram, the broker between the harbour crew and the cold-store cell, on three devices"},
    {"subject": "identity", "key": "tel:+31633333333", "rule": "network-burner", "why": "the courier's first burner: one evening, reaching Anna"},
    {"subject": "identity", "key": "tel:+31644444444", "rule": "network-burner", "why": "the courier's second burner: two days, reaching Anna and Kees"},
    {"subject": "item", "source": "laptop-bram", "path": "Pictures/flagged-0001.png", "rule": "hashset-known-bad", "why": "the known-bad picture"},
    {"subject": "item", "source": "phone-kees", "path": "Messages/Media/IMG-20240306-0002.jpg", "rule": "pdq-known-bad", "why": "the known-bad picture forwarded: rescaled, re-encoded"},
    {"subject": "item", "source": "phone-anna", "path": "DCIM/Camera/VID_20240305_101500.avi//frame-0001@2.000s", "rule": "pdq-known-bad", "why": "the video containing the known-bad picture"},
    {"subject": "item", "source": "phone-kees", "path": "DCIM/Camera/DSCN0010.jpg", "rule": "place-of-interest", "why": "a real photo taken at the handover square, on the phone of a burner's contact"},
    {"subject": "place", "key": "poi:Handover square (tip 2024-118)", "rule": "place-of-interest-several-devices", "why": "photos from Kees's phone and Bram's laptop, taken at the handover square"},
    {"subject": "item", "source": "phone-kees", "path": "Backups/sms-20240308.xml", "rule": "watchlist-entity", "why": "the watch-listed IBAN, sent by Bram"},
    {"subject": "item", "source": "phone-kees", "path": "DCIM/Camera/IMG_20240306_pier.png", "rule": "object-of-interest", "why": "the courier's bicycle and the van at the pier (to NanoDet a bicycle at 0.68 and a truck at 0.36), with models only"}
  ],
  "expected": [
    {"subject": "item", "source": "phone-anna", "path": "WhatsApp/Media/Images/IMG-20240303-WA0001.png", "why": "a copy of the known-bad picture"},
    {"subject": "item", "source": "phone-anna", "path": "WhatsApp/Media/Documents/contacts.txt", "why": "a known-bad picture named .txt"},
    {"subject": "item", "source": "usb-stick", "path": "backup/2024/03/deep/er/still/IMG-0042.png", "why": "a known-bad file deep in folders"},
    {"subject": "item", "source": "laptop-bram", "path": "Documents/holiday-notes.txt", "why": "a picture named .txt"},
    {"subject": "item", "source": "laptop-bram", "path": "Downloads/invoice-march.pdf", "why": "a ZIP named .pdf"},
    {"subject": "item", "source": "usb-stick", "path": "backup/2024/03/archive.jpg", "why": "a ZIP named .jpg"},
    {"subject": "identity", "key": "device-owner:phone-anna", "why": "Anna, who leads the harbour crew"},
    {"subject": "identity-pair", "key": "device-owner:phone-anna|tel:+31633333333", "why": "the first burner and Anna, whom it reached"},
    {"subject": "identity-pair", "key": "device-owner:phone-anna|tel:+31644444444", "why": "the second burner and Anna, whom it reached"},
    {"subject": "identity", "key": "email:dirk@coldstore.example", "why": "Dirk, who leads the cold-store cell"}
  ]
}
"#;

/// The flagged picture: listed by MD5 in the known-bad set, by PDQ in the PDQ list, and shown
/// for three seconds in the phone's video. A mosaic of contrasting tiles, so that its PDQ
/// quality is high enough (>= 50) for PDQ matching; the plain gradients of the other demo
/// pictures are too flat for it.
fn flagged_picture() -> Vec<u8> {
    mosaic(384, 256, 0x5EED_F1A6)
}

/// A mosaic of random tiles, 32 px each: the demo's known-bad pictures, which look like
/// nothing else of the demo (its other pictures are plain gradients with a square).
fn mosaic(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let columns = w.div_ceil(32);
    let tiles: Vec<[u8; 3]> = (0..columns * h.div_ceil(32))
        .map(|_| {
            let v = rng.next();
            [(v >> 56) as u8, (v >> 48) as u8, (v >> 40) as u8]
        })
        .collect();
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(tiles[(y / 32 * columns + x / 32) as usize])
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encoding to memory");
    out
}

/// A 5 s MJPEG AVI at 5 frames/s, 384 x 256: two seconds of a street-like scene, then the
/// flagged picture. Its keyframes are the first frame and the cut at
/// 2 s; the frame at the cut matches the PDQ list though no file of the video is listed.
fn demo_video() -> Vec<u8> {
    let (w, h) = (384u32, 256u32);
    let flagged = image::load_from_memory(&flagged_picture())
        .expect("the demo picture decodes")
        .to_rgb8();
    let street = |t: u32| {
        image::RgbImage::from_fn(w, h, |x, y| {
            // Dark road, a lighter pavement band and a "car" that moves a little each frame.
            let car = x >= 40 + t * 6 && x < 110 + t * 6 && (120..150).contains(&y);
            let v = if car {
                200
            } else if y > 100 {
                40 + (x % 32) as u8
            } else {
                90 + (y / 4) as u8
            };
            image::Rgb([v, v, v.saturating_add(20)])
        })
    };
    let frames: Vec<Vec<u8>> = (0..25u32)
        .map(|i| {
            let img = if i < 10 { street(i) } else { flagged.clone() };
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&img)
                .expect("encoding to memory");
            jpeg
        })
        .collect();
    mjpeg_avi(&frames, w, h, 5)
}

/// An AVI (RIFF) file of JPEG frames, the layout cameras and phones wrote for years: `hdrl`
/// with the main and stream headers, `movi` with one `00dc` chunk per frame, and `idx1`.
pub fn mjpeg_avi(frames: &[Vec<u8>], width: u32, height: u32, fps: u32) -> Vec<u8> {
    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut c = id.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        if body.len() % 2 == 1 {
            c.push(0);
        }
        c
    }
    fn list(kind: &[u8; 4], parts: &[Vec<u8>]) -> Vec<u8> {
        let mut body = kind.to_vec();
        parts.iter().for_each(|p| body.extend_from_slice(p));
        chunk(b"LIST", &body)
    }
    let le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    let largest = frames.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let mut avih = Vec::new();
    for x in [
        1_000_000 / fps,
        largest * fps,
        0,
        0x10,
        frames.len() as u32,
        0,
        1,
        largest,
        width,
        height,
        0,
        0,
        0,
        0,
    ] {
        le(&mut avih, x);
    }
    let mut strh = b"vidsMJPG".to_vec();
    for x in [
        0,
        0,
        0,
        1,
        fps,
        0,
        frames.len() as u32,
        largest,
        u32::MAX,
        0,
    ] {
        le(&mut strh, x);
    }
    strh.extend_from_slice(&[0, 0, 0, 0]);
    strh.extend_from_slice(&(width as u16).to_le_bytes());
    strh.extend_from_slice(&(height as u16).to_le_bytes());
    let mut strf = Vec::new();
    for x in [40, width, height] {
        le(&mut strf, x);
    }
    strf.extend_from_slice(&1u16.to_le_bytes());
    strf.extend_from_slice(&24u16.to_le_bytes());
    strf.extend_from_slice(b"MJPG");
    for x in [width * height * 3, 0, 0, 0, 0] {
        le(&mut strf, x);
    }
    let hdrl = list(
        b"hdrl",
        &[
            chunk(b"avih", &avih),
            list(b"strl", &[chunk(b"strh", &strh), chunk(b"strf", &strf)]),
        ],
    );
    let mut movi_parts = Vec::new();
    let mut idx1 = Vec::new();
    let mut offset = 4u32; // from the 'movi' fourcc
    for f in frames {
        let c = chunk(b"00dc", f);
        idx1.extend_from_slice(b"00dc");
        for x in [0x10, offset, f.len() as u32] {
            le(&mut idx1, x);
        }
        offset += c.len() as u32;
        movi_parts.push(c);
    }
    let mut body = b"AVI ".to_vec();
    body.extend_from_slice(&hdrl);
    body.extend_from_slice(&list(b"movi", &movi_parts));
    body.extend_from_slice(&chunk(b"idx1", &idx1));
    chunk(b"RIFF", &body)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic filler, not cryptography.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid RGB PNG (stored deflate blocks), drawn from a seed: gradients and a square.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let inside = x > width / 4 && x < width * 3 / 4 && y > height / 4 && y < height * 3 / 4;
            let (r, g, b) = if inside {
                (seed, 255 - seed, 128)
            } else {
                ((x * 255 / width) as u8, (y * 255 / height) as u8, seed)
            };
            raw.extend_from_slice(&[r, g, b]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push((i + 1 == blocks.len()) as u8);
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    png_container(width, height, &z)
}

/// An RGB PNG around an already compressed IDAT stream. The header is taken as given, so a
/// test can also make one that lies about its size (a decompression bomb).
pub fn png_container(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", idat);
    chunk(b"IEND", &[]);
    out
}

fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut cursor);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(
                zip::DateTime::from_date_and_time(2024, 3, 1, 12, 0, 0).expect("valid date"),
            );
        w.start_file(name, options).expect("in-memory zip");
        w.write_all(content).expect("in-memory zip");
        w.finish().expect("in-memory zip");
    }
    cursor.into_inner()
}

// Long (~133 lines): a table of the demo evidence, one entry per file, nothing else.
/// The communications of the demo case: two cells and a broker between them. Anna's phone
/// holds an SMS backup (texts and calls with Bram and Kees), a WhatsApp group of cell A
/// (Anna, Kees, Lotte, Mo) and a contact card for Bram with his number and address; Bram's
/// laptop holds a mailbox with cell B (Dirk, Eva, Femke, Gijs, Hanna, Ivo), a contact card for
/// Anna and a WhatsApp chat with Kees. Bram is
/// the only tie between the cells, and Anna's number is on both devices.
fn comms_files() -> Vec<(&'static str, Vec<u8>, Vec<u8>, char)> {
    // 2024-03-01 09:00:00 UTC in milliseconds, then minutes after it.
    let at = |minutes: i64| 1_709_283_600_000i64 + minutes * 60_000;
    let sms = |address: &str, minutes: i64, kind: u8, body: &str| {
        format!(
            "  <sms protocol=\"0\" address=\"{address}\" date=\"{}\" type=\"{kind}\" body=\"{body}\" read=\"1\" status=\"-1\" />\n",
            at(minutes)
        )
    };
    let mut backup = String::from(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"8\">\n",
    );
    backup.push_str(&sms(
        "+31622222222",
        0,
        1,
        "Boat in at 22:00. Tell the crew.",
    ));
    backup.push_str(&sms("+31622222222", 5, 2, "OK. Who collects?"));
    backup.push_str(&sms(
        "+31622222222",
        9,
        1,
        "Dirk's people. Same as last time.",
    ));
    backup.push_str(&sms("+31633333333", 15, 2, "Tonight, 22:00, pier 4"));
    backup.push_str(&sms("+31633333333", 18, 1, "Understood"));
    backup.push_str(&sms("+31622222222", 600, 2, "Done. Crew is home."));
    // The courier's second number, five days later (minutes after 2024-03-01 09:00 UTC).
    backup.push_str(&sms(
        "+31644444444",
        5 * 24 * 60 + 60,
        1,
        "Square, 14:00. Bring the envelope",
    ));
    backup.push_str(&sms("+31644444444", 5 * 24 * 60 + 62, 2, "Will do"));
    backup.push_str("</smses>\n");
    let calls = format!(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<calls count=\"2\">\n  <call number=\"+31622222222\" duration=\"185\" date=\"{}\" type=\"2\" presentation=\"1\" />\n  <call number=\"+31622222222\" duration=\"42\" date=\"{}\" type=\"1\" presentation=\"1\" />\n</calls>\n",
        at(30),
        at(700)
    );
    let group = "01/03/2024, 10:20 - Anna: Tonight 22:00 at pier 4\n\
                 01/03/2024, 10:21 - Kees: I'll bring the van\n\
                 01/03/2024, 10:25 - Lotte: I keep watch at the gate\n\
                 01/03/2024, 10:26 - Mo: ok\n\
                 01/03/2024, 10:30 - Anna: Phones off after 21:30\n";
    let kees =
        "02/03/2024, 08:10 - Bram: Van ready?\n02/03/2024, 08:12 - Kees: Yes, at pier 4 by 21:30\n";
    let bram_card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bram\r\nTEL;TYPE=CELL:+31 6 2222 2222\r\nEMAIL:bram@harbourfreight.example\r\nEND:VCARD\r\n";
    let anna_card =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna\r\nTEL;TYPE=CELL:+31 6 1234 5678\r\nEND:VCARD\r\n";
    // Sent in the evening (18:00 + `hour` local, UTC+1), after the day's texts on the phone.
    let mail = |from: &str,
                to: &str,
                cc: Option<&str>,
                day: u32,
                hour: u32,
                subject: &str,
                body: &str| {
        let hour = 18 + hour;
        format!(
            "From {from} Fri Mar {day:2} {hour}:00:00 2024\nFrom: {from}\nTo: {to}\n{}Date: Fri, {day} Mar 2024 {hour}:00:00 +0100\nSubject: {subject}\nMessage-ID: <{day}.{hour}@harbourfreight.example>\n\n{body}\n\n",
            cc.map_or(String::new(), |c| format!("Cc: {c}\n")),
        )
    };
    let mut mbox = String::new();
    mbox.push_str(&mail(
        "bram@harbourfreight.example",
        "dirk@coldstore.example",
        None,
        1,
        1,
        "Pickup",
        "Friday night, pier 4. Bring two vans.",
    ));
    mbox.push_str(&mail(
        "dirk@coldstore.example",
        "bram@harbourfreight.example",
        Some("eva@coldstore.example"),
        1,
        2,
        "Re: Pickup",
        "Eva arranges the vans.",
    ));
    mbox.push_str(&mail(
        "eva@coldstore.example",
        "femke@coldstore.example",
        Some("dirk@coldstore.example"),
        2,
        3,
        "Vans",
        "Both vans booked under the usual name.",
    ));
    mbox.push_str(&mail(
        "femke@coldstore.example",
        "bram@harbourfreight.example",
        None,
        4,
        4,
        "Payment",
        "Second half on Monday.",
    ));
    mbox.push_str(&mail(
        "bram@harbourfreight.example",
        "eva@coldstore.example",
        None,
        4,
        0,
        "Next month",
        "Same route, the 29th.",
    ));
    mbox.push_str(&mail(
        "dirk@coldstore.example",
        "gijs@coldstore.example",
        Some("hanna@coldstore.example, bram@harbourfreight.example"),
        5,
        1,
        "Friday",
        "Gijs drives, Hanna counts.",
    ));
    mbox.push_str(&mail(
        "hanna@coldstore.example",
        "ivo@coldstore.example",
        Some("dirk@coldstore.example"),
        5,
        2,
        "Count",
        "Ivo, take the second van.",
    ));
    vec![
        (
            "phone-anna",
            b"Backups/sms-20240302.xml".to_vec(),
            backup.into_bytes(),
            '-',
        ),
        (
            "phone-anna",
            b"Backups/calls-20240302.xml".to_vec(),
            calls.into_bytes(),
            '-',
        ),
        (
            "phone-anna",
            b"WhatsApp/WhatsApp Chat with Harbour crew.txt".to_vec(),
            group.as_bytes().to_vec(),
            '-',
        ),
        (
            "phone-anna",
            b"Contacts/bram.vcf".to_vec(),
            bram_card.as_bytes().to_vec(),
            '-',
        ),
        (
            "laptop-bram",
            b"Mail/inbox.mbox".to_vec(),
            mbox.into_bytes(),
            '-',
        ),
        (
            "laptop-bram",
            b"Mail/anna.vcf".to_vec(),
            anna_card.as_bytes().to_vec(),
            '-',
        ),
        (
            "laptop-bram",
            b"WhatsApp/WhatsApp Chat with Kees.txt".to_vec(),
            kees.as_bytes().to_vec(),
            '-',
        ),
    ]
}

/// (device, relative path bytes, content, listed in: 'b' known-bad, 'g' known-good, '-' none)
fn files() -> Vec<(&'static str, Vec<u8>, Vec<u8>, char)> {
    let mut rng = Rng(0x5EED_5900);
    let letter =
        b"Dear Sir,\n\nPlease find the shipment schedule attached. Payment as agreed.\n\nRegards\n"
            .to_vec();
    let ledger =
        b"date,amount,counterparty\n2024-02-01,4500,K.\n2024-02-09,12000,M.\n2024-02-20,800,K.\n"
            .to_vec();
    let readme = b"Windows driver readme. Install with setup.exe.\n".to_vec();
    let mut list = comms_files();
    list.extend(phone_kees_files());
    list.extend(vec![
        (
            "laptop-bram",
            b"Documents/letter.txt".to_vec(),
            letter.clone(),
            '-',
        ),
        (
            "laptop-bram",
            b"Documents/finance/ledger-2024.csv".to_vec(),
            ledger.clone(),
            '-',
        ),
        (
            "laptop-bram",
            b"Documents/finance/old/ledger-2023.csv".to_vec(),
            b"date,amount\n2023-12-30,300\n".to_vec(),
            '-',
        ),
        (
            "laptop-bram",
            b"Documents/holiday-notes.txt".to_vec(),
            png(64, 48, 40),
            '-',
        ),
        (
            "laptop-bram",
            b"Downloads/driver/README.txt".to_vec(),
            readme.clone(),
            'g',
        ),
        (
            "laptop-bram",
            b"Downloads/driver/setup.dat".to_vec(),
            rng.bytes(3000),
            'g',
        ),
        (
            "laptop-bram",
            b"Downloads/invoice-march.pdf".to_vec(),
            zip_with("invoice.txt", &ledger),
            '-',
        ),
        (
            "laptop-bram",
            b"Pictures/flagged-0001.png".to_vec(),
            flagged_picture(),
            'b',
        ),
        (
            "laptop-bram",
            b"Pictures/caf\xe9-terrace.png".to_vec(),
            png(80, 60, 90),
            '-',
        ),
        (
            "laptop-bram",
            b"Pictures/report\x1b[31m-red.txt".to_vec(),
            b"a name with a terminal escape\n".to_vec(),
            '-',
        ),
        (
            "phone-anna",
            b"DCIM/Camera/IMG_20240301_120000.png".to_vec(),
            png(120, 90, 10),
            '-',
        ),
        (
            "phone-anna",
            b"DCIM/Camera/IMG_20240302_083000.png".to_vec(),
            png(120, 90, 20),
            '-',
        ),
        (
            "phone-anna",
            b"WhatsApp/Media/Images/IMG-20240303-WA0001.png".to_vec(),
            flagged_picture(),
            'b',
        ),
        (
            "phone-anna",
            b"WhatsApp/Media/Documents/contacts.txt".to_vec(),
            mosaic(96, 96, 150),
            'b',
        ),
        (
            "phone-anna",
            b"DCIM/Camera/VID_20240305_101500.avi".to_vec(),
            demo_video(),
            '-',
        ),
        (
            "phone-anna",
            b"Download/empty.txt".to_vec(),
            Vec::new(),
            '-',
        ),
        (
            "phone-anna",
            b"Notes/shopping.txt".to_vec(),
            b"milk\nbread\nburner phone\n".to_vec(),
            '-',
        ),
        (
            "usb-stick",
            b"backup/2024/03/letter-copy.txt".to_vec(),
            letter,
            '-',
        ),
        (
            "usb-stick",
            b"backup/2024/03/archive.jpg".to_vec(),
            zip_with("ledger.csv", &ledger),
            '-',
        ),
        (
            "usb-stick",
            b"backup/2024/03/deep/er/still/IMG-0042.png".to_vec(),
            mosaic(128, 96, 77),
            'b',
        ),
        ("usb-stick", b"tools/README.txt".to_vec(), readme, 'g'),
    ]);
    list
}

/// Fixed modification time of every demo file and folder: 2024-03-04T10:00:00Z.
const DEMO_MTIME: i64 = 1_709_546_400;

/// Writes the demo set under `dir`, replacing an earlier demo set there.
pub fn write(dir: &Path) -> Result<DemoSet, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let list = files();
    let mut devices: Vec<PathBuf> = Vec::new();
    let mut bad = String::from(
        "# spoor demo known-bad list (md5deep layout). Synthetic: matches only the demo evidence.\n",
    );
    let mut good = String::from(
        "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n",
    );
    for device in ["laptop-bram", "phone-anna", "phone-kees", "usb-stick"] {
        let root = dir.join(device);
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| io(&root, e))?;
        }
        devices.push(root);
    }
    let mut listed_bad = std::collections::BTreeSet::new();
    for (device, rel, content, listed) in &list {
        let path = dir.join(device).join(std::ffi::OsStr::from_bytes(rel));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, content).map_err(|e| io(&path, e))?;
        let mut h = TripleHasher::default();
        h.update(content);
        let d = h.finish();
        let name =
            String::from_utf8_lossy(rel.rsplit(|&b| b == b'/').next().unwrap_or(rel)).into_owned();
        match listed {
            'b' if listed_bad.insert(d.md5) => bad.push_str(&format!("{}  {}\n", d.md5, name)),
            'g' => good.push_str(&format!(
                "\"{}\",\"{}\",\"{:08X}\",\"{}\",{},{},\"WIN\",\"\"\n",
                d.sha1.to_hex().to_uppercase(),
                d.md5.to_hex().to_uppercase(),
                crc32(content),
                name,
                content.len(),
                9001
            )),
            _ => {}
        }
    }
    // A list entry that matches nothing, and a malformed line, as real lists have.
    bad.push_str(
        "0123456789abcdef0123456789abcdef  not-on-any-device.bin\nthis line is not a digest\n",
    );
    let sets = dir.join("hashsets");
    std::fs::create_dir_all(&sets).map_err(|e| io(&sets, e))?;
    let known_bad = sets.join("demo-known-bad.txt");
    let known_good = sets.join("demo-known-good-NSRLFile.txt");
    let known_bad_pdq = sets.join("demo-known-bad-pdq.txt");
    std::fs::write(&known_bad, bad).map_err(|e| io(&known_bad, e))?;
    std::fs::write(&known_good, good).map_err(|e| io(&known_good, e))?;
    let flagged = crate::media::pdq::dihedral_of_image_bytes(&flagged_picture())?
        .ok_or("the demo picture is too small to hash")?;
    std::fs::write(
        &known_bad_pdq,
        format!(
            "# spoor demo PDQ list (hex hash, category). Synthetic: the flagged demo picture.\n{} CAT-DEMO\n",
            flagged.original.to_hex()
        ),
    )
    .map_err(|e| io(&known_bad_pdq, e))?;
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists).map_err(|e| io(&lists, e))?;
    let watchlist = lists.join("watchlist.txt");
    std::fs::write(
        &watchlist,
        "# spoor demo watch list: VALUE<TAB>note. Synthetic.\nNL91 ABNA 0417 1643 00\tthe cell's payment account (tip 2024-117)\n",
    )
    .map_err(|e| io(&watchlist, e))?;
    let places_of_interest = lists.join("places-of-interest.csv");
    std::fs::write(
        &places_of_interest,
        "name,latitude,longitude,radius_m\nHandover square (tip 2024-118),43.4675,11.8851,150\n",
    )
    .map_err(|e| io(&places_of_interest, e))?;
    let ground_truth = dir.join("ground-truth.json");
    std::fs::write(&ground_truth, GROUND_TRUTH).map_err(|e| io(&ground_truth, e))?;
    for device in &devices {
        set_mtimes(device)?;
    }
    Ok(DemoSet {
        devices,
        known_bad,
        known_good,
        known_bad_pdq,
        watchlist,
        places_of_interest,
        ground_truth,
    })
}

fn set_mtimes(root: &Path) -> Result<(), String> {
    let mut dirs = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            if e.file_type().map_err(|e| e.to_string())?.is_dir() {
                dirs.push(e.path());
            }
            all.push(e.path());
        }
        all.push(d);
    }
    // Children before parents: setting a child's time does not touch the parent's mtime,
    // but creating entries did, so parents go last.
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let t = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: DEMO_MTIME,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: DEMO_MTIME,
            tv_nsec: 0,
        },
    };
    for p in all {
        rustix::fs::utimensat(
            rustix::fs::CWD,
            &p,
            &t,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_has_valid_chunk_crcs() {
        let p = super::png(10, 7, 3);
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        // IHDR chunk CRC covers type + data.
        let crc = u32::from_be_bytes(p[29..33].try_into().unwrap());
        assert_eq!(crc, super::crc32(&p[12..29]));
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
