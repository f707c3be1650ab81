//! The benchmark's corpus: deterministic (the same sizes give the same bytes on every
//! machine), written from nothing but spoor's own generators, so that two reports compare.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{ItemId, StoredParticipant, StoredRecord};

/// How much of each kind of input.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sizes {
    /// Small files (random bytes, a quarter to 1.75 times `small_kb` each).
    pub small_files: usize,
    pub small_kb: usize,
    /// Large files of `large_mb` each.
    pub large_files: usize,
    pub large_mb: usize,
    /// JPEGs: (width, height, how many).
    pub pictures: Vec<(u32, u32, usize)>,
    /// Messages, split over a WhatsApp export, an SMS backup and an mbox.
    pub messages: usize,
    /// The synthetic network of the graph stages.
    pub people: usize,
    pub contacts: usize,
}

impl Sizes {
    pub fn quick() -> Sizes {
        Sizes {
            small_files: 2_000,
            small_kb: 16,
            large_files: 4,
            large_mb: 8,
            pictures: vec![(640, 480, 12), (1600, 1200, 8), (4032, 3024, 3)],
            messages: 15_000,
            // Betweenness on 10,000 people took 17 s of a 43 s quick run here.
            people: 5_000,
            contacts: 50_000,
        }
    }

    pub fn full() -> Sizes {
        Sizes {
            small_files: 50_000,
            small_kb: 16,
            large_files: 8,
            large_mb: 64,
            pictures: vec![(640, 480, 120), (1600, 1200, 80), (4032, 3024, 40)],
            messages: 300_000,
            people: 100_000,
            contacts: 1_000_000,
        }
    }

    pub fn picture_sizes(&self) -> String {
        self.pictures
            .iter()
            .map(|(w, h, n)| format!("{n} of {w}x{h}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What was written, and where.
pub struct Written {
    pub files: PathBuf,
    pub file_count: u64,
    pub file_bytes: u64,
    pub pictures: PathBuf,
    pub picture_count: u64,
    pub picture_bytes: u64,
    pub comms: PathBuf,
    pub comms_bytes: u64,
}

/// xorshift64 (13, 7, 17): filler and choices, not cryptography.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<u64, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes.len() as u64)
}

/// A photo-like picture: soft gradients, a few discs of colour and fine grain, so that the
/// JPEG has the texture of a photo (a flat picture compresses to nothing and decodes faster
/// than any photo would).
pub fn picture(width: u32, height: u32, seed: u64) -> image::RgbImage {
    let mut rng = Rng(seed | 1);
    let discs: Vec<(f64, f64, f64, [f64; 3])> = (0..12)
        .map(|_| {
            (
                rng.unit() * width as f64,
                rng.unit() * height as f64,
                (0.05 + 0.2 * rng.unit()) * width.min(height) as f64,
                [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0],
            )
        })
        .collect();
    let mut grain = Rng(seed.rotate_left(17) | 1);
    image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f64 / width as f64, y as f64 / height as f64);
        let mut c = [90.0 + 100.0 * fx, 80.0 + 90.0 * fy, 140.0 - 60.0 * fx * fy];
        for (cx, cy, r, colour) in &discs {
            let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
            if d < *r {
                let w = 1.0 - d / r;
                for k in 0..3 {
                    c[k] = c[k] * (1.0 - w) + colour[k] * w;
                }
            }
        }
        let g = (grain.next_u64() >> 59) as f64 - 16.0;
        image::Rgb(c.map(|v| (v + g).clamp(0.0, 255.0) as u8))
    })
}

/// The message bodies of the communications corpus, in order.
pub fn bodies(sizes: &Sizes) -> Vec<String> {
    let (text, _) = crate::text::corpus::generate(sizes.messages, 2026);
    text.lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, b)| b).to_string())
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the corpus under `dir`.
pub fn write(dir: &Path, sizes: &Sizes) -> Result<Written, String> {
    let files = dir.join("files");
    let mut rng = Rng(0x5EED_0001);
    let mut file_bytes = 0;
    let mut buf = Vec::new();
    for i in 0..sizes.small_files {
        let kb = sizes.small_kb * 1024;
        let size = kb / 4 + (rng.next_u64() as usize % (kb * 3 / 2 + 1));
        buf.resize(size, 0);
        rng.fill(&mut buf);
        file_bytes += write_file(
            &files.join(format!("small/{:03}/f{i:06}.bin", i / 1000)),
            &buf,
        )?;
    }
    for i in 0..sizes.large_files {
        buf.resize(sizes.large_mb << 20, 0);
        rng.fill(&mut buf);
        file_bytes += write_file(&files.join(format!("large/disk{i}.img")), &buf)?;
    }

    let pictures = dir.join("pictures");
    let mut picture_count = 0;
    let mut picture_bytes = 0;
    for &(w, h, n) in &sizes.pictures {
        for i in 0..n {
            let img = picture(w, h, (w as u64) << 32 | (h as u64) << 16 | i as u64);
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&img)
                .map_err(|e| format!("encoding a picture: {e}"))?;
            picture_bytes += write_file(
                &pictures.join(format!("DCIM/{w}x{h}/IMG_{i:04}.jpg")),
                &jpeg,
            )?;
            picture_count += 1;
        }
    }

    let comms = dir.join("comms");
    let bodies = bodies(sizes);
    let people: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("Person {i}"),
                format!("+3161{:07}", 1_000_000 + i * 7919),
            )
        })
        .collect();
    let (mut chat, mut sms, mut mbox) = (String::new(), String::new(), String::new());
    sms.push_str("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses>\n");
    let start_ms = 1_709_283_600_000i64; // 2024-03-01 09:00 UTC
    for (i, body) in bodies.iter().enumerate() {
        let (name, number) = &people[i * 7 % people.len()];
        let minutes = i as i64;
        match i % 3 {
            0 => {
                let t = start_ms / 1000 + minutes * 60;
                let (d, hm) = (t.div_euclid(86_400), t.rem_euclid(86_400));
                // Days after 2024-03-01, wrapped into March and April for a plain date.
                let day = d - 19_783;
                let (month, dom) = (3 + day / 31 % 2, 1 + day % 31 % 28);
                chat.push_str(&format!(
                    "{dom:02}/{month:02}/2024, {:02}:{:02} - {name}: {body}\n",
                    hm / 3600,
                    hm % 3600 / 60
                ));
            }
            1 => sms.push_str(&format!(
                "  <sms protocol=\"0\" address=\"{number}\" date=\"{}\" type=\"{}\" body=\"{}\" read=\"1\" status=\"-1\" />\n",
                start_ms + minutes * 60_000,
                1 + i % 2,
                xml_escape(body)
            )),
            _ => {
                let day = 1 + i % 28;
                mbox.push_str(&format!(
                    "From person{}@mail.example Fri Mar {day:2} 10:00:00 2024\nFrom: {name} <person{}@mail.example>\nTo: desk@mail.example\nDate: Fri, {day} Mar 2024 10:00:00 +0100\nSubject: message {i}\nMessage-ID: <{i}@mail.example>\n\n{}\n\n",
                    i % 40,
                    i % 40,
                    body.replace("\nFrom ", "\n>From ")
                ));
            }
        }
    }
    sms.push_str("</smses>\n");
    let mut comms_bytes = write_file(&comms.join("WhatsApp Chat with Crew.txt"), chat.as_bytes())?;
    comms_bytes += write_file(&comms.join("sms-20240401.xml"), sms.as_bytes())?;
    comms_bytes += write_file(&comms.join("inbox.mbox"), mbox.as_bytes())?;
    Ok(Written {
        files,
        file_count: (sizes.small_files + sizes.large_files) as u64,
        file_bytes,
        pictures,
        picture_count,
        picture_bytes,
        comms,
        comms_bytes,
    })
}

/// One contact between two synthetic numbers (`tel:+3160NNNNNNN`) at `second` of 2024.
pub fn contact_record(id: i64, from: &str, to: &str, second: i64, call: bool) -> StoredRecord {
    let participant = |role: &str, n: &str| StoredParticipant {
        role: role.into(),
        identifier: format!("tel:+3160{n:0>7}"),
        raw: n.into(),
        name: None,
    };
    let days = second / 86_400;
    let (h, m, s) = (second / 3600 % 24, second / 60 % 60, second % 60);
    StoredRecord {
        id,
        item: ItemId(1),
        source: "operator".into(),
        path: "cdr.csv".into(),
        kind: if call { "call" } else { "message" }.into(),
        format: "cdr-csv".into(),
        time: Some(format!(
            "2024-{:02}-{:02}T{h:02}:{m:02}:{s:02}Z",
            1 + days / 28 % 12,
            1 + days % 28
        )),
        zone_known: true,
        direction: "unknown".into(),
        participants: vec![participant("from", from), participant("to", to)],
        thread: None,
        body: None,
        duration_s: call.then_some(60.0),
        owners_given: Vec::new(),
    }
}

/// A synthetic communication network: `contacts` calls and messages among `people`, with a
/// heavy-tailed degree (a few hubs, many people with one or two ties), a third of them calls,
/// spread over a year. The generator of `scripts/bench-graph.sh`.
pub fn contacts(people: usize, contacts: usize, seed: u64) -> Vec<StoredRecord> {
    let mut rng = Rng(seed | 1);
    (0..contacts)
        .map(|id| {
            let a = ((people as f64) * rng.unit().powi(4)) as usize;
            let mut b = ((people as f64) * rng.unit().powi(2)) as usize;
            if a == b {
                b = (b + 1) % people;
            }
            let second = (rng.next_u64() % (365 * 86_400)) as i64;
            let call = rng.next_u64().is_multiple_of(3);
            contact_record(id as i64, &a.to_string(), &b.to_string(), second, call)
        })
        .collect()
}
