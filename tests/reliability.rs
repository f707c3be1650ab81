//! Regression tests for issue 11: content that vanished without a record, input that ran
//! unbounded, and the integrity report, each from a fixture built here.

mod common;

use std::path::Path;

use common::{expect_code, export};

/// CRC-32 (IEEE), for zips written by hand: the zip crate refuses to write two members of one
/// name, and colliding names are what these tests are about.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip of stored members with exactly the names given (any bytes, duplicates allowed).
fn raw_zip(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let fixed = |sig: &[u8], central: bool| {
            let mut h = sig.to_vec();
            if central {
                h.extend(20u16.to_le_bytes()); // made by
            }
            h.extend(20u16.to_le_bytes()); // needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(0u16.to_le_bytes()); // stored
            h.extend(0u32.to_le_bytes()); // time, date
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            h
        };
        out.extend(fixed(b"PK\x03\x04", false));
        out.extend(*name);
        out.extend(*data);
        let mut c = fixed(b"PK\x01\x02", true);
        c.extend(0u16.to_le_bytes()); // comment
        c.extend(0u16.to_le_bytes()); // disk
        c.extend(0u16.to_le_bytes()); // internal attributes
        c.extend(0u32.to_le_bytes()); // external attributes
        c.extend(offset.to_le_bytes());
        c.extend(*name);
        central.push(c);
    }
    let start = out.len() as u32;
    let size: usize = central.iter().map(Vec::len).sum();
    for c in &central {
        out.extend(c);
    }
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((size as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    spoor::evidence::digest::sha256_bytes(bytes).to_string()
}

fn scan(ev: &Path, case: &Path) -> std::process::Output {
    common::scan(ev, case, "T", &["--quiet"])
}

/// Issue 11.1 and 11.2: members whose names collide each become their own child item, and
/// absolute names are error records that name them; every member's bytes are analysed.
#[test]
fn zip_members_with_colliding_or_absolute_names_are_each_kept_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let members: Vec<(&[u8], Vec<u8>)> = [
        &b"a.txt"[..],
        b"/a.txt",
        b"a.txt",
        b"dir/a.txt",
        b"dir\\a.txt",
        b"/tmp/x/p.txt",
        b"C:\\Windows\\p.txt",
        b"//server/share/p",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| {
        (
            *name,
            format!("member {i}: {}\n", String::from_utf8_lossy(name)).into_bytes(),
        )
    })
    .collect();
    let borrowed: Vec<(&[u8], &[u8])> = members.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    common::write(&ev.join("names.zip"), &raw_zip(&borrowed));
    let o = scan(&ev, &case);
    expect_code(&o, 2, "scan of a zip with colliding and absolute names");

    let items = export(&case, "items");
    let children: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["parent_path"] == "names.zip")
        .collect();
    assert_eq!(
        children.len(),
        8,
        "{:?} {:#?}",
        children.iter().map(|c| &c["path"]).collect::<Vec<_>>(),
        export(&case, "errors")
    );
    for (name, data) in &members {
        assert!(
            children.iter().any(|c| c["sha256"] == sha256_hex(data)),
            "member {:?} was not analysed",
            String::from_utf8_lossy(name)
        );
    }
    let mut paths: Vec<&str> = children
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 8, "child paths are unique: {paths:?}");
    assert!(paths.contains(&"names.zip//a.txt~2"), "{paths:?}");

    let observations = export(&case, "observations");
    let summary = observations
        .iter()
        .find(|o| o["path"] == "names.zip" && o["kind"] == "archive.zip")
        .unwrap();
    assert_eq!(summary["value"]["extracted"], 8);

    let errors = export(&case, "errors");
    let reasons: Vec<&str> = errors
        .iter()
        .filter(|e| e["path"] == "names.zip")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    for absolute in [
        "\"/a.txt\"",
        "\"/tmp/x/p.txt\"",
        "\"C:\\\\Windows\\\\p.txt\"",
        "\"//server/share/p\"",
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.contains(absolute) && r.contains("absolute")),
            "{absolute} not flagged: {reasons:?}"
        );
    }
    assert_eq!(reasons.len(), 4, "{reasons:?}");
}

/// Issue 11.6: a 42.zip-style nest (sixteen identical copies a level, four levels, 64 MiB of
/// zeros at the bottom) ends: each distinct container is expanded once within the evidence
/// file, the copies are stored and marked, and the scan finishes.
#[test]
fn a_nest_of_identical_zips_is_expanded_once_per_distinct_container() {
    use std::io::Write;
    let deflated = |members: &[(String, &[u8])]| {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            w.start_file(name.as_str(), options).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    };
    let zeros = vec![0u8; 64 << 20];
    let mut level = deflated(&[("zeros.bin".to_string(), &zeros)]);
    for _ in 0..4 {
        let copies: Vec<(String, &[u8])> = (0..16)
            .map(|i| (format!("{i:x}.zip"), level.as_slice()))
            .collect();
        level = deflated(&copies);
    }
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(&ev.join("42.zip"), &level);
    let o = scan(&ev, &case);
    expect_code(
        &o,
        0,
        &format!("scan of the nest: {:#?}", export(&case, "errors")),
    );
    let items = export(&case, "items");
    let derived: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| !i["parent_path"].is_null())
        .collect();
    // Four levels of sixteen, the first copy of each opened, and the zeros at the bottom.
    assert_eq!(derived.len(), 4 * 16 + 1, "{}", derived.len());
    let copies = derived
        .iter()
        .filter(|i| i["derivation"]["contents_not_expanded"].is_string())
        .count();
    assert_eq!(copies, 4 * 15);
    assert!(items.iter().any(
        |i| i["path"] == "42.zip//0.zip//0.zip//0.zip//0.zip//zeros.bin"
            && i["sha256"] == sha256_hex(&zeros)
    ));
}

/// Nesting deeper than seven levels (bulk_extractor's default depth) is an error record that
/// names what was not extracted; the levels above it are kept.
#[test]
fn zips_nested_past_seven_levels_are_said_not_followed() {
    let mut level = raw_zip(&[(b"bottom.txt", b"the bottom")]);
    for depth in (1..=8).rev() {
        let name = format!("level-{depth}.zip");
        level = raw_zip(&[(name.as_bytes(), &level)]);
    }
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(&ev.join("deep.zip"), &level);
    let o = scan(&ev, &case);
    expect_code(&o, 2, "scan of a zip nested eight deep");
    let errors = export(&case, "errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("level-8.zip: nested more than 7 levels deep"),
        "{errors:#?}"
    );
    let items = export(&case, "items");
    assert_eq!(
        items.iter().filter(|i| !i["parent_path"].is_null()).count(),
        7
    );
}

/// Issue 11.3: a WhatsApp export whose first message runs over ten lines (a shopping list)
/// is still recognised and parsed.
#[test]
fn a_whatsapp_export_whose_first_message_is_a_long_list_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let mut chat = String::from("12/03/2023, 09:15 - Anna: boodschappen:\n");
    for item in [
        "melk", "brood", "kaas", "eieren", "appels", "koffie", "thee", "rijst", "pasta", "tomaten",
        "uien", "boter",
    ] {
        chat.push_str(&format!("- {item}\n"));
    }
    chat.push_str("12/03/2023, 09:20 - Bram: ok, om 5 uur bij de Albert Heijn\n");
    chat.push_str("12/03/2023, 09:21 - Anna: 👍\n");
    common::write(&ev.join("WhatsApp Chat with Bram.txt"), chat.as_bytes());
    let o = scan(&ev, &case);
    expect_code(&o, 0, "scan of the chat");
    let records = export(&case, "records");
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(records[0]["body"].as_str().unwrap().contains("tomaten"));
}

/// Issue 11.4: a file typed as SQLite (it starts "SQLi") whose header is damaged is an error
/// record, as is a database whose schema cannot be read.
#[test]
fn a_database_with_a_damaged_header_or_schema_is_an_error_record() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let db = dir.path().join("mmssms.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE threads (_id INTEGER PRIMARY KEY);
             CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER,
                 date_sent INTEGER, type INTEGER, body TEXT, read INTEGER, status INTEGER, service_center TEXT);
             INSERT INTO threads VALUES (1);
             INSERT INTO sms VALUES (1, 1, '+31612345678', 1700000000000, 0, 1, 'hoi', 1, -1, NULL);",
        )
        .unwrap();
    }
    let good = std::fs::read(&db).unwrap();
    let mut byte15 = good.clone();
    byte15[15] = b'X';
    common::write(&ev.join("byte15.db"), &byte15);
    common::write(&ev.join("cut.db"), b"SQLite forma");
    let mut schema = good.clone();
    // Page 1's b-tree header (after the 100-byte file header): a page type SQLite rejects.
    schema[100] = 0xFF;
    common::write(&ev.join("schema.db"), &schema);
    common::write(&ev.join("good.db"), &good);
    let o = scan(&ev, &case);
    expect_code(&o, 2, "scan of damaged databases");
    let errors = export(&case, "errors");
    for path in ["byte15.db", "cut.db", "schema.db"] {
        assert!(
            errors
                .iter()
                .any(|e| e["path"] == path && e["stage"] == "comms"),
            "{path} is neither parsed nor said: {errors:#?}"
        );
    }
    assert!(
        !errors.iter().any(|e| e["path"] == "good.db"),
        "{errors:#?}"
    );
    let records = export(&case, "records");
    assert_eq!(records.iter().filter(|r| r["path"] == "good.db").count(), 1);
}

/// Issue 11.9: on a source holding containers (a zip, an e-mail with an attachment) verify's
/// recorded and recomputed root digests agree, and a changed file is found.
#[test]
fn verify_compares_like_with_like_on_sources_with_containers() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(
        &ev.join("bundle.zip"),
        &raw_zip(&[(b"a.txt", b"first"), (b"b.txt", b"second")]),
    );
    common::write(
        &ev.join("mail.eml"),
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
          MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
          Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: text/plain; name=\"n.txt\"\r\n\
          Content-Disposition: attachment; filename=\"n.txt\"\r\n\r\nnote\r\n--b--\r\n",
    );
    let o = scan(&ev, &case);
    expect_code(&o, 0, "scan");
    let items = export(&case, "items");
    assert!(items.iter().filter(|i| !i["parent_path"].is_null()).count() >= 3);
    let o = common::run(&["verify", case.to_str().unwrap()]);
    expect_code(&o, 0, "verify of an unchanged source");
    let text = common::stdout(&o);
    let line = text
        .lines()
        .find(|l| l.contains("root digest recorded"))
        .unwrap();
    let digests: Vec<&str> = line.split_whitespace().filter(|w| w.len() == 64).collect();
    assert_eq!(digests.len(), 2, "{line}");
    assert_eq!(digests[0], digests[1], "{text}");
    assert!(text.contains("unchanged"), "{text}");

    common::write(&ev.join("mail.eml"), b"replaced");
    let o = common::run(&["verify", case.to_str().unwrap()]);
    expect_code(&o, 3, "verify after a change");
    assert!(
        common::stdout(&o).contains("mail.eml"),
        "{}",
        common::stdout(&o)
    );
}

/// Issue 11.11: a usage error exits 1 (2 is "finished with item errors").
#[test]
fn a_usage_error_exits_1_and_help_exits_0() {
    let o = common::run(&["scan", "--no-such-flag"]);
    expect_code(&o, 1, "unknown flag");
    let o = common::run(&["no-such-command"]);
    expect_code(&o, 1, "unknown command");
    let o = common::run(&["--help"]);
    expect_code(&o, 0, "--help");
}

/// Issue 11.6: past the expansion limits of one evidence file (here lowered to 5 derived
/// items, then to 1 MiB) the rest is not examined, and an error record says how many files
/// and from which on; the items within the limit are kept.
#[test]
fn past_the_expansion_limits_the_rest_is_an_error_record() {
    use spoor::engine::{self, ExpansionLimits, Progress, ScanHooks, ScanPlan, ScanRequest};
    let members: Vec<(Vec<u8>, Vec<u8>)> = (0..8)
        .map(|i| (format!("m{i}.bin").into_bytes(), vec![i as u8; 400 << 10]))
        .collect();
    let borrowed: Vec<(&[u8], &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_slice(), d.as_slice()))
        .collect();
    for (limits, kept) in [
        (
            ExpansionLimits {
                items: 5,
                bytes: 1 << 40,
            },
            5,
        ),
        (
            ExpansionLimits {
                items: 1000,
                bytes: 1 << 20,
            },
            2,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
        common::write(&ev.join("many.zip"), &raw_zip(&borrowed));
        let plan = ScanPlan::resolve(&ScanRequest {
            evidence: vec![ev.clone()],
            case_dir: case.clone(),
            examiner: "T".into(),
            ..Default::default()
        })
        .unwrap();
        let summary = engine::run_scan_with(
            &plan,
            &Progress::default(),
            &std::sync::atomic::AtomicBool::new(false),
            ScanHooks {
                expansion_limits: Some(limits),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(summary.errors, 1, "{limits:?}");
        let items = export(&case, "items");
        assert_eq!(
            items
                .iter()
                .filter(|i| i["parent_path"] == "many.zip")
                .count(),
            kept,
            "{limits:?}"
        );
        let errors = export(&case, "errors");
        let reason = errors[0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(&format!(
                "{} of 8 embedded files not examined, from m{kept}.bin on",
                8 - kept
            )),
            "{reason}"
        );
    }
}
