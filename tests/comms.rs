//! Communication exports against the expected parses their source projects ship
//! (tests/data/comms/SOURCES.md), and a scan that turns them into exported records.

mod common;

use common::{data, expect_code};
use spoor::comms::{CommsOptions, smsbackup, whatsapp};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap()
}

/// (timestamp `YYYY-MM-DD HH:MM:SS`, author or "System", message with lines joined by spaces),
/// as chat-miner's targets write them.
fn ours(file: &str) -> Vec<(String, String, String)> {
    let p = whatsapp::parse(
        &read(&format!("comms/whatsapp/{file}")),
        file,
        &CommsOptions::default(),
    );
    assert!(p.damage.is_empty(), "{file}: {:?}", p.damage);
    p.records
        .iter()
        .map(|r| {
            (
                r.time.local.clone().unwrap().replace('T', " "),
                r.participants
                    .first()
                    .map_or("System".to_string(), |p| p.raw.clone()),
                r.body.clone().unwrap().replace('\n', " "),
            )
        })
        .collect()
}

#[test]
fn whatsapp_exports_in_six_date_formats_equal_chat_miners_targets() {
    for n in 1..=6 {
        let file = format!("test_dateformat{n}.txt");
        let mut got = ours(&file);
        let target = std::fs::read_to_string(data(&format!(
            "comms/whatsapp/test_dateformat{n}_target.csv"
        )))
        .unwrap();
        let mut want: Vec<(String, String, String)> = Vec::new();
        for line in target.lines().skip(1) {
            // timestamp,author,"message, maybe with commas",weekday,hour,words,letters
            let (ts, rest) = line.split_once(',').unwrap();
            let (author, rest) = rest.split_once(',').unwrap();
            let fields: Vec<&str> = rest.rsplitn(5, ',').collect();
            let quoted = fields[4];
            let message = match quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => quoted.to_string(),
            };
            want.push((ts.to_string(), author.to_string(), message));
        }
        // chat-miner renders a message that is only "." as "<Disappearing Message>"; spoor keeps
        // the text as written. The targets are in no particular order.
        got.retain(|g| g.2 != ".");
        want.retain(|w| w.2 != "<Disappearing Message>");
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn whatsapp_android_ios_12h_and_year_first_layouts_equal_the_json_target() {
    let target: Vec<serde_json::Value> =
        serde_json::from_slice(&read("comms/whatsapp/target.json")).unwrap();
    let mut want: Vec<(String, String, String)> = target
        .iter()
        .map(|t| {
            (
                t["timestamp"].as_str().unwrap().replace('T', " "),
                t["author"].as_str().unwrap().to_string(),
                t["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    want.sort();
    for file in [
        "test_ddmmyy_24hrs.txt",
        "test_mmddyy_24hrs.txt",
        "test_mmddyyyy_12hrs.txt",
        "test_yyyymmdd_24hrs.txt",
        "test_ios_mmddyy_24hrs.txt",
    ] {
        let mut got: Vec<_> = ours(file)
            .into_iter()
            .filter(|g| g.1 != "System" && g.2 != ".")
            .collect();
        got.sort();
        assert_eq!(got, want, "{file}");
    }
    // System messages are kept, without a sender.
    let p = whatsapp::parse(
        &read("comms/whatsapp/test_ddmmyy_24hrs.txt"),
        "c.txt",
        &CommsOptions::default(),
    );
    let system: Vec<&str> = p
        .records
        .iter()
        .filter(|r| r.participants.is_empty())
        .map(|r| r.body.as_deref().unwrap())
        .collect();
    assert_eq!(
        system,
        ["+12 345 578 created group \"Groupname\"", "You were added"]
    );
    assert_eq!(p.records[1].locator["line"], 2);
}

/// Base64 in 76-column lines, as MIME writes it.
fn mime_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(bytes);
    b.as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect()
}

#[test]
fn email_attachments_become_child_items_that_go_through_every_stage() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let photo = read("exif/DSCN0010.jpg");
    let known_bad = read("hashsets/testfiles/copying.txt");
    // A forwarded message (message/rfc822) that carries a file of its own: a known-bad one.
    let forwarded = format!(
        "From: Piet <piet@example.nl>\r\nTo: Anna <anna@example.nl>\r\nDate: Tue, 3 Mar 2020 10:00:00 +0100\r\n\
         Subject: the list\r\nMessage-ID: <inner@example.nl>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\n\
         see attached\r\n--in\r\nContent-Type: text/plain; name=\"copying.txt\"\r\n\
         Content-Disposition: attachment; filename=\"copying.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--in--\r\n",
        mime_base64(&known_bad)
    );
    let mbox = format!(
        "From anna@example.nl Wed Mar  4 09:00:00 2020\r\nFrom: Anna <anna@example.nl>\r\nTo: Bob <bob@example.nl>\r\n\
         Date: Wed, 4 Mar 2020 09:00:00 +0100\r\nSubject: pictures\r\nMessage-ID: <outer@example.nl>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"out\"\r\n\r\n--out\r\n\
         Content-Type: text/plain\r\n\r\nthree files\r\n--out\r\nContent-Type: image/jpeg; name=\"IMG 1/2.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"IMG 1/2.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
         --out\r\nContent-Type: text/plain; name=\"pay.txt\"\r\nContent-Disposition: attachment; filename=\"pay.txt\"\r\n\r\n\
         pay to NL91 ABNA 0417 1643 00 today\r\n--out\r\nContent-Type: message/rfc822\r\n\
         Content-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n{}\r\n--out\r\n\
         Content-Type: video/3gpp; name=\"clip.3gp\"\r\nContent-Disposition: attachment; filename=\"clip.3gp\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--out--\r\n",
        mime_base64(&photo),
        forwarded,
        mime_base64(&read("video/padded.3gp"))
    );
    common::write(&ev.join("mail/inbox.mbox"), mbox.as_bytes());
    let o = common::scan(
        &ev,
        &case,
        "T",
        &[
            "--quiet",
            "--hashset",
            &format!("{}:bad:CAT-X", data("hashsets/bsd-hashes.txt").display()),
        ],
    );
    expect_code(&o, 0, "scan of a mailbox with attachments");
    let items = common::export(&case, "items");
    let item = |path: &str| {
        items
            .iter()
            .find(|i| i["path"] == path)
            .unwrap_or_else(|| {
                panic!(
                    "no item {path}: {:?}",
                    items.iter().map(|i| &i["path"]).collect::<Vec<_>>()
                )
            })
            .clone()
    };
    let picture = item("mail/inbox.mbox//message-1/attachment-1/IMG 1_2.jpg");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(picture["sha256"], hex(&sha2::Sha256::digest(&photo)));
    assert_eq!(picture["mime"], "image/jpeg");
    assert_eq!(picture["parent_path"], "mail/inbox.mbox");
    assert_eq!(picture["derivation"]["what"], "e-mail attachment");
    assert_eq!(picture["derivation"]["message_id"], "outer@example.nl");
    assert_eq!(picture["derivation"]["declared_name"], "IMG 1/2.jpg");
    let fwd = "mail/inbox.mbox//message-1/attachment-3/fwd.eml";
    item(fwd);
    let nested = format!("{fwd}//message/attachment-1/copying.txt");
    assert_eq!(
        item(&nested)["sha256"],
        hex(&sha2::Sha256::digest(&known_bad))
    );
    assert_eq!(item(&nested)["derivation"]["within"], fwd);
    let observations = common::export(&case, "observations");
    let has = |path: &str, kind: &str| {
        observations
            .iter()
            .any(|o| o["path"] == path && o["kind"] == kind)
    };
    // The picture went through the image stages, the text file through entity extraction,
    // the forwarded message through the e-mail parser, its attachment through the hash sets.
    assert!(has(
        "mail/inbox.mbox//message-1/attachment-1/IMG 1_2.jpg",
        "image.pdq"
    ));
    assert!(has(
        "mail/inbox.mbox//message-1/attachment-1/IMG 1_2.jpg",
        "image.exif"
    ));
    assert!(observations.iter().any(|o| o["path"]
        == "mail/inbox.mbox//message-1/attachment-2/pay.txt"
        && o["kind"] == "text.entity"
        && o["value"]["value"] == "NL91ABNA0417164300"));
    assert!(
        has(&nested, "hashset.match"),
        "the known-bad file inside the forward"
    );
    // The attached video's keyframes, taken from memory (nothing written beside the
    // evidence), each an image with its own PDQ.
    let clip = "mail/inbox.mbox//message-1/attachment-4/clip.3gp";
    assert!(has(clip, "video.keyframes"));
    let first_frame = format!("{clip}//frame-0000@0.000s");
    assert_eq!(item(&first_frame)["derivation"]["what"], "video keyframe");
    assert!(has(&first_frame, "image.pdq"));
    let records = common::export(&case, "records");
    let inner = records
        .iter()
        .find(|r| r["path"] == fwd)
        .expect("the forwarded message's record");
    assert_eq!(inner["extra"]["message_id"], "inner@example.nl");
    let outer = records
        .iter()
        .find(|r| r["path"] == "mail/inbox.mbox")
        .unwrap();
    let listed = outer["extra"]["attachments"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0]["child"], "message-1/attachment-1/IMG 1_2.jpg");
}

/// A zip written with the zip crate, `members` as (name, bytes), deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    for (name, bytes) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

#[test]
fn a_whatsapp_export_zip_is_opened_its_chat_parsed_and_its_pictures_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let chat = read("comms/whatsapp/test_dateformat1.txt");
    let photo = read("exif/DSCN0010.jpg");
    let inner = zip_of(&[("note.txt", b"pay NL91 ABNA 0417 1643 00 before friday\n")]);
    let mut export = zip_of(&[
        ("_chat.txt", &chat),
        ("IMG-20191224-WA0001.jpg", &photo),
        ("more/inner.zip", &inner),
        ("../escape.txt", b"outside"),
        ("secret.txt", b"locked away"),
    ]);
    // Mark the last member encrypted (general-purpose flag bit 0, in its local and its central
    // header), as a password-protected zip has it.
    for signature in [&b"PK\x03\x04"[..], &b"PK\x01\x02"[..]] {
        let header = export.windows(4).rposition(|w| w == signature).unwrap();
        let flags = header + if signature[2] == 3 { 6 } else { 8 };
        export[flags] |= 1;
    }
    common::write(&ev.join("exports/WhatsApp Chat - Bob.zip"), &export);
    let o = common::scan(&ev, &case, "T", &["--quiet"]);
    expect_code(
        &o,
        2,
        "scan of an export zip with an unsafe and an encrypted member",
    );
    let zip = "exports/WhatsApp Chat - Bob.zip";
    let records = common::export(&case, "records");
    let chat_path = format!("{zip}//_chat.txt");
    assert_eq!(
        records.iter().filter(|r| r["path"] == chat_path).count(),
        10
    );
    let items = common::export(&case, "items");
    let item = |path: &str| items.iter().find(|i| i["path"] == path).cloned();
    let picture = item(&format!("{zip}//IMG-20191224-WA0001.jpg")).expect("the picture");
    assert_eq!(picture["derivation"]["what"], "zip member");
    assert_eq!(picture["mime"], "image/jpeg");
    let observations = common::export(&case, "observations");
    let has = |path: &str, kind: &str| {
        observations
            .iter()
            .any(|o| o["path"] == path && o["kind"] == kind)
    };
    assert!(has(&format!("{zip}//IMG-20191224-WA0001.jpg"), "image.pdq"));
    // A zip inside the zip is opened too; its text's IBAN is an entity.
    let note = format!("{zip}//more/inner.zip//note.txt");
    assert!(item(&note).is_some());
    assert!(has(&note, "text.entity"));
    let summary = observations
        .iter()
        .find(|o| o["path"] == zip && o["kind"] == "archive.zip")
        .unwrap();
    assert_eq!(summary["value"]["members"], 5);
    // The member named ../escape.txt is analysed under a name inside the archive (nothing is
    // written to disk), and its name is said.
    assert_eq!(summary["value"]["extracted"], 4);
    assert!(item(&format!("{zip}//dot-dot/escape.txt")).is_some());
    // The unsafe name and the encrypted member are error records that name them.
    let errors = common::export(&case, "errors");
    let reasons: Vec<&str> = errors
        .iter()
        .filter(|e| e["path"] == zip)
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("\"../escape.txt\"") && r.contains("climbing out")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("secret.txt") && r.contains("Password required")),
        "{reasons:?}"
    );
}

#[test]
fn utf16_and_windows_1252_exports_are_read_as_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    let chat = String::from_utf8(read("comms/whatsapp/test_dateformat1.txt")).unwrap();
    let utf16 = |text: &str, bom: bool| -> Vec<u8> {
        let mut out = if bom { vec![0xff, 0xfe] } else { vec![] };
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    };
    // A Windows tool's UTF-16 (with and without a byte-order mark), an SMS backup re-saved as
    // UTF-16, and a chat in Windows-1252 with accented names and a euro sign.
    common::write(&ev.join("chat-utf16.txt"), &utf16(&chat, true));
    common::write(&ev.join("chat-utf16-nobom.txt"), &utf16(&chat, false));
    let xml = String::from_utf8(read("comms/smsbackup/minimal_sms.xml")).unwrap();
    common::write(&ev.join("sms-utf16.xml"), &utf16(&xml, true));
    common::write(
        &ev.join("chat-1252.txt"),
        b"24/12/19, 11:23 - Zo\xeb: caf\xe9 om 8 uur, \x805\n25/12/19, 09:00 - Ren\xe9: ok\n",
    );
    let o = common::scan(&ev, &case, "T", &["--quiet"]);
    expect_code(&o, 0, "scan of re-encoded exports");
    let records = common::export(&case, "records");
    let from = |path: &str| -> Vec<&serde_json::Value> {
        records.iter().filter(|r| r["path"] == path).collect()
    };
    let reference = whatsapp::parse(chat.as_bytes(), "chat.txt", &CommsOptions::default());
    for path in ["chat-utf16.txt", "chat-utf16-nobom.txt"] {
        let got = from(path);
        assert_eq!(got.len(), reference.records.len(), "{path}");
        for (g, r) in got.iter().zip(&reference.records) {
            assert_eq!(g["body"].as_str(), r.body.as_deref(), "{path}");
            assert_eq!(g["locator"]["line"], r.locator["line"], "{path}");
        }
    }
    let sms = from("sms-utf16.xml");
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["body"], "Happy New Year! This is a test message.");
    let latin = from("chat-1252.txt");
    assert_eq!(latin.len(), 2);
    assert_eq!(latin[0]["participants"][0]["raw"], "Zoë");
    assert_eq!(latin[0]["body"], "café om 8 uur, €5");
    assert_eq!(latin[1]["participants"][0]["raw"], "René");
    // The export observation says which encoding was read and what the offsets mean.
    let observations = common::export(&case, "observations");
    let export_of = |path: &str| {
        observations
            .iter()
            .find(|o| o["path"] == path && o["kind"] == "comms.export")
            .unwrap_or_else(|| panic!("{path}: no comms.export"))["value"]
            .clone()
    };
    assert_eq!(export_of("chat-utf16.txt")["encoding"], "utf-16le");
    assert_eq!(export_of("chat-1252.txt")["encoding"], "windows-1252");
    assert!(
        export_of("chat-1252.txt")["offsets"]
            .as_str()
            .unwrap()
            .contains("UTF-8 decoding")
    );
}

#[test]
fn a_2_gib_export_without_a_newline_is_an_error_record_and_the_rest_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    // A chat export's first line, then 2 GiB without a line break (sparse: no disk used).
    let huge = ev.join("chat-huge.txt");
    common::write(&huge, b"24/12/19, 11:23 - Bob: this line never ends ");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    common::write(
        &ev.join("chat.txt"),
        &read("comms/whatsapp/test_dateformat1.txt"),
    );
    // A mailbox over the in-memory limit is read a message at a time: a message with a
    // picture, one whose body is 560 MiB without a line break (sparse), one after it.
    let mbox = ev.join("huge.mbox");
    let first = format!(
        "From anna@example.nl Wed Mar  4 09:00:00 2020\nFrom: anna@example.nl\nTo: bob@example.nl\n\
         Subject: one\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\
         Content-Type: text/plain\n\nsee the picture\n--b\nContent-Type: image/jpeg; name=\"p.jpg\"\n\
         Content-Transfer-Encoding: base64\n\n{}--b--\n\n\
         From bob@example.nl Wed Mar  4 10:00:00 2020\nFrom: bob@example.nl\nTo: anna@example.nl\n\
         Subject: two\n\n",
        mime_base64(&read("exif/DSCN0010.jpg"))
    );
    let last = b"\n\nFrom anna@example.nl Wed Mar  4 11:00:00 2020\nFrom: anna@example.nl\n\
        To: bob@example.nl\nSubject: three\n\nafter the huge one\n";
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&mbox).unwrap();
        f.write_all(first.as_bytes()).unwrap();
        f.seek(SeekFrom::Current(560 << 20)).unwrap();
        f.write_all(last).unwrap();
    }
    // An SMS Backup & Restore XML over the limit is read as it goes too: one message, a
    // 560 MiB comment (sparse), a call.
    let xml = ev.join("sms-huge.xml");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&xml).unwrap();
        f.write_all(
            b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"2\">\n\
              <sms protocol=\"0\" address=\"+31612345678\" date=\"1700000000000\" type=\"1\" body=\"before\" />\n<!--",
        )
        .unwrap();
        f.seek(SeekFrom::Current(560 << 20)).unwrap();
        f.write_all(
            b"-->\n<sms protocol=\"0\" address=\"+31612345678\" date=\"1700000060000\" type=\"2\" body=\"after\" />\n</smses>\n",
        )
        .unwrap();
    }
    // A zip over the in-memory limit is read from its file: a small member, then a 520 MiB
    // one, past what one archive's members may take together.
    {
        use std::io::Write;
        let f = std::io::BufWriter::new(std::fs::File::create(ev.join("huge.zip")).unwrap());
        let mut w = zip::ZipWriter::new(f);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("small.txt", stored).unwrap();
        w.write_all(b"IBAN NL91 ABNA 0417 1643 00\n").unwrap();
        w.start_file("big.bin", stored.large_file(false)).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..520 {
            w.write_all(&zeros).unwrap();
        }
        w.finish().unwrap();
    }
    let o = common::scan(&ev, &case, "T", &["--quiet"]);
    expect_code(&o, 2, "scan with an export too large to parse");
    let errors = common::export(&case, "errors");
    let refused = errors
        .iter()
        .find(|e| e["path"] == "chat-huge.txt")
        .expect("an error record for the huge export");
    assert_eq!(refused["stage"], "comms");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("MiB parsed in memory"),
        "{refused:?}"
    );
    // It is still an item, hashed whole; the other export is parsed.
    let items = common::export(&case, "items");
    let item = items.iter().find(|i| i["path"] == "chat-huge.txt").unwrap();
    assert_eq!(item["size"], 2u64 << 30);
    assert!(item["sha256"].is_string());
    let records = common::export(&case, "records");
    assert_eq!(
        records.iter().filter(|r| r["path"] == "chat.txt").count(),
        10
    );
    // The mailbox: the first and last messages are records, the huge one an error record with
    // its place; the first one's picture is a child item as from a small mailbox.
    let subjects: Vec<&str> = records
        .iter()
        .filter(|r| r["path"] == "huge.mbox")
        .map(|r| r["extra"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["one", "three"]);
    let too_large = errors
        .iter()
        .find(|e| e["path"] == "huge.mbox")
        .expect("an error record for the huge message");
    let reason = too_large["reason"].as_str().unwrap();
    assert!(
        reason.contains("message 2 is") && reason.contains("over the 512 MiB"),
        "{reason}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "huge.mbox//message-1/attachment-1/p.jpg")
    );
    let observations = common::export(&case, "observations");
    let export = observations
        .iter()
        .find(|o| o["path"] == "huge.mbox" && o["kind"] == "comms.export")
        .unwrap();
    assert_eq!(export["value"]["streamed"], true);
    assert_eq!(export["value"]["summary"]["messages"], 3);
    assert!(items.iter().any(|i| i["path"] == "huge.zip//small.txt"));
    assert!(errors.iter().any(|e| e["path"] == "huge.zip"
        && e["reason"].as_str().unwrap().contains("big.bin")
        && e["reason"].as_str().unwrap().contains("not extracted")));
    let bodies: Vec<&str> = records
        .iter()
        .filter(|r| r["path"] == "sms-huge.xml")
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["before", "after"]);
    assert!(observations.iter().any(|o| o["path"] == "sms-huge.xml"
        && o["kind"] == "comms.export"
        && o["value"]["streamed"] == true));
}

#[test]
fn a_signal_text_export_is_told_from_whatsapp_by_its_layout_and_equals_the_target() {
    let content = read("comms/signal/test_export.txt");
    let text = String::from_utf8_lossy(&content);
    assert!(whatsapp::recognise_signal(&text));
    // WhatsApp's layouts, bracketed year-first ones included, are not Signal.
    for f in [
        "test_yyyymmdd_24hrs.txt",
        "test_ios_mmddyy_24hrs.txt",
        "test_dateformat1.txt",
    ] {
        let other = read(&format!("comms/whatsapp/{f}"));
        assert!(
            !whatsapp::recognise_signal(&String::from_utf8_lossy(&other)),
            "{f}"
        );
    }
    assert!(!whatsapp::recognise_signal(
        "[2019-12-24, 12:23:05] Jane: hi\n"
    ));
    let p = whatsapp::parse_app(
        &content,
        "Jane Doe.txt",
        &CommsOptions::default(),
        &whatsapp::SIGNAL,
    );
    assert!(p.damage.is_empty(), "{:?}", p.damage);
    let mut got: Vec<(String, String, String)> = p
        .records
        .iter()
        .map(|r| {
            assert_eq!(r.format, "signal-txt");
            assert!(r.participants[0].identifier.starts_with("signal-name:"));
            assert!(!r.time.zone_known && r.time.assumption.is_some());
            (
                r.time.local.clone().unwrap(),
                r.participants[0].raw.clone(),
                r.body.clone().unwrap().replace('\n', " "),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, target("comms/signal/target.json"));
    // The multi-line message keeps its line break, and its place is its first line.
    assert_eq!(p.records[1].body.as_deref(), Some("Hello\nJane!"));
    assert_eq!(p.records[1].locator["line"], 2);
}

#[test]
fn sms_backup_restore_sms_mms_and_calls_equal_the_parsers_expectations() {
    let region = CommsOptions::default();
    let sms = smsbackup::parse(&read("comms/smsbackup/minimal_sms.xml"), &region);
    assert!(sms.damage.is_empty(), "{:?}", sms.damage);
    assert_eq!(sms.records.len(), 1);
    let r = &sms.records[0];
    assert_eq!(r.participants[0].identifier, "tel:+15551234567");
    assert_eq!(r.time.utc.as_deref(), Some("2021-01-01T00:00:00Z"));
    assert!(r.time.zone_known);
    assert_eq!(
        r.body.as_deref(),
        Some("Happy New Year! This is a test message.")
    );

    let mms = smsbackup::parse(&read("comms/smsbackup/minimal_mms.xml"), &region);
    let m = &mms.records[0];
    assert_eq!(m.extra["parts"], 3);
    assert_eq!(m.body.as_deref(), Some("Hello from MMS!"));
    let roles: Vec<(&str, &str)> = m
        .participants
        .iter()
        .map(|p| (p.role, p.identifier.as_str()))
        .collect();
    assert_eq!(
        roles,
        [("from", "tel:+15559876543"), ("to", "tel:+15551234567")]
    );
    assert_eq!(m.extra["attachments"][0]["content_type"], "image/jpeg");
    // The picture's base64 `data` becomes a child file under the backup, named by message and
    // part; the phone declared it a JPEG, its bytes are a PNG (the typing stage says so).
    assert_eq!(mms.embedded.len(), 1);
    let picture = &mms.embedded[0];
    assert_eq!(picture.name, "mms-1/part-3/image.jpg");
    assert!(picture.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(picture.derivation["declared_type"], "image/jpeg");
    assert_eq!(m.extra["attachments"][0]["child"], "mms-1/part-3/image.jpg");
    assert_eq!(m.extra["attachments"][0]["size"], picture.bytes.len());
    // Data that is not base64 is said, the message kept.
    let broken = String::from_utf8(read("comms/smsbackup/minimal_mms.xml"))
        .unwrap()
        .replace("data=\"iVBOR", "data=\"!!!!");
    let b = smsbackup::parse(broken.as_bytes(), &region);
    assert_eq!(b.records.len(), 1);
    assert!(b.embedded.is_empty());
    assert!(
        b.damage[0].contains("mms 1 part 3: data is not base64"),
        "{:?}",
        b.damage
    );
    assert!(b.records[0].extra["attachments"][0]["child"].is_null());

    let calls = smsbackup::parse(&read("comms/smsbackup/minimal_calls.xml"), &region);
    let c = &calls.records[0];
    assert_eq!(c.kind, spoor::comms::RecordKind::Call);
    assert_eq!(c.extra["duration_s"], 125);
    assert_eq!(c.direction, "incoming");
    assert_eq!(c.participants[0].name.as_deref(), Some("Alice Smith"));

    let mixed = smsbackup::parse(&read("comms/smsbackup/mixed.xml"), &region);
    let protocols: Vec<&str> = mixed
        .records
        .iter()
        .map(|r| r.extra["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols.iter().filter(|p| **p == "sms").count(), 3);
    assert_eq!(protocols.iter().filter(|p| **p == "mms").count(), 1);

    let edge = smsbackup::parse(&read("comms/smsbackup/edge_cases.xml"), &region);
    assert!(
        edge.records
            .iter()
            .any(|r| r.body.as_deref().unwrap_or("").contains('\u{1F30D}'))
    );

    // An anonymised real export, cut short inside its 50th element (41 SMS, 9 MMS) although its
    // header declares 58: all 50 kept, the cut and the shortfall both reported.
    let real = smsbackup::parse(&read("comms/smsbackup/sms_and_mms.xml"), &region);
    assert_eq!(real.records.len(), 50);
    assert_eq!(
        real.damage,
        [
            "byte 25271: mms not closed; kept with the parts read",
            "the file declares 58 records and holds 50: some are missing or damaged"
        ]
    );
    assert!(real.records.iter().any(|r| r.direction == "outgoing"));
    // A group MMS: every address a participant.
    assert!(real.records.iter().any(|r| r.participants.len() >= 3));
}

#[test]
fn a_broken_xml_export_keeps_what_was_read_and_says_where_it_broke() {
    let p = smsbackup::parse(
        &read("comms/smsbackup/malformed.xml"),
        &CommsOptions::default(),
    );
    assert!(!p.damage.is_empty());
    assert!(
        p.damage.iter().any(|d| d.starts_with("byte ")),
        "{:?}",
        p.damage
    );
    // Cut a good export in the middle: the messages before the cut are kept.
    let good = read("comms/smsbackup/sms_and_mms.xml");
    let cut = smsbackup::parse(&good[..good.len() / 2], &CommsOptions::default());
    assert!(cut.records.len() > 10, "{}", cut.records.len());
    assert!(!cut.damage.is_empty());
}

#[test]
fn a_scan_recognises_exports_by_content_and_exports_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    // Names that say nothing: recognised by content.
    common::write(
        &ev.join("backup/file1.dat"),
        &read("comms/smsbackup/sms_and_mms.xml"),
    );
    common::write(
        &ev.join("backup/chat.txt"),
        &read("comms/whatsapp/test_dateformat1.txt"),
    );
    common::write(
        &ev.join("backup/broken.xml"),
        &read("comms/smsbackup/malformed.xml"),
    );
    common::write(&ev.join("notes.txt"), b"just a note, not an export\n");
    common::write(
        &ev.join("phone/result.json"),
        &read("comms/json/telegram_batch.json"),
    );
    common::write(
        &ev.join("phone/other.json"),
        b"{\"settings\": {\"dark\": true}}",
    );
    common::write(
        &ev.join("phone/contacts.vcf"),
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna\r\nTEL:+1 650 253 0000\r\nEND:VCARD\r\n",
    );
    let o = common::scan(
        &ev,
        &case,
        "T",
        &["--quiet", "--region", "US", "--owner", "+1 555 000 0002"],
    );
    expect_code(&o, 2, "scan with a damaged export (item errors recorded)");
    let records = common::export(&case, "records");
    let from = |path: &str| records.iter().filter(|r| r["path"] == path).count();
    assert_eq!(from("backup/file1.dat"), 50);
    // The backup's MMS pictures are child items with their own digests, typed by their bytes.
    let items = common::export(&case, "items");
    let parts: Vec<_> = items
        .iter()
        .filter(|i| i["parent_path"] == "backup/file1.dat" && i["derivation"]["what"] == "mms part")
        .collect();
    assert!(!parts.is_empty());
    assert!(
        parts
            .iter()
            .all(|p| p["mime"] == "image/png" && p["sha256"].is_string())
    );
    // 15 lines: 10 messages, 6 continuation lines of two multi-line ones.
    assert_eq!(from("backup/chat.txt"), 10);
    assert_eq!(from("notes.txt"), 0);
    assert_eq!(from("phone/result.json"), 2);
    assert_eq!(from("phone/other.json"), 0);
    let contact = records
        .iter()
        .find(|r| r["path"] == "phone/contacts.vcf")
        .unwrap();
    assert_eq!(contact["kind"], "contact");
    assert_eq!(contact["participants"][0]["identifier"], "tel:+16502530000");
    let first = records
        .iter()
        .find(|r| r["path"] == "backup/chat.txt")
        .unwrap();
    assert_eq!(first["format"], "whatsapp-txt");
    assert_eq!(first["time"]["zone_known"], false);
    assert!(
        first["time"]["assumption"]
            .as_str()
            .unwrap()
            .contains("zone unknown")
    );
    assert_eq!(first["locator"]["line"], 1);
    let errors = common::export(&case, "errors");
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "backup/broken.xml" && e["stage"] == "comms"),
        "{errors:?}"
    );
    // A bad region is refused before anything is read.
    let o = common::scan(&ev, &dir.path().join("c2"), "T", &["--region", "XX"]);
    expect_code(&o, 1, "bad region");
}

/// (UTC time without the zone letter, author, text) of a parse, sorted.
fn triples(p: &spoor::comms::Parsed) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = p
        .records
        .iter()
        .map(|r| {
            (
                r.time
                    .utc
                    .clone()
                    .unwrap()
                    .trim_end_matches('Z')
                    .to_string(),
                r.participants[0].raw.clone(),
                r.body.clone().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn target(rel: &str) -> Vec<(String, String, String)> {
    let t: Vec<serde_json::Value> = serde_json::from_slice(&read(rel)).unwrap();
    let mut out: Vec<_> = t
        .iter()
        .map(|t| {
            (
                t["timestamp"].as_str().unwrap().to_string(),
                t["author"].as_str().unwrap().to_string(),
                t["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn telegram_instagram_and_messenger_json_equal_the_targets() {
    use spoor::comms::jsonchats;
    let none = CommsOptions::default();
    // Telegram's text arrays are concatenated as Telegram writes them (its real exports carry
    // the spaces in the plain-text pieces); chat-miner puts a space between the pieces.
    let mut want = target("comms/json/telegram_target.json");
    for w in &mut want {
        w.2 = w.2.replace("Link: https", "Link:https");
    }
    for file in ["telegram_single.json", "telegram_batch.json"] {
        let (format, p) = jsonchats::parse(&read(&format!("comms/json/{file}")), &none);
        assert_eq!(format, Some(jsonchats::TELEGRAM), "{file}");
        assert_eq!(triples(&p), want, "{file}");
        assert!(p.records.iter().all(|r| r.time.zone_known));
    }
    let (_, batch) = jsonchats::parse(&read("comms/json/telegram_batch.json"), &none);
    assert_eq!(batch.records[0].thread.as_deref(), Some("Chatname"));
    assert_eq!(
        batch.records[1].locator["json_pointer"],
        "/chats/list/0/messages/1"
    );
    // A whole-account export names its owner in `personal_information` (Telegram Desktop's
    // fields): that becomes an account record, and the owner's messages are outgoing.
    let mut account: serde_json::Value =
        serde_json::from_slice(&read("comms/json/telegram_batch.json")).unwrap();
    account["personal_information"] = serde_json::json!({
        "user_id": 5012345678i64, "first_name": "Author", "last_name": "One",
        "phone_number": "+31 6 12345678", "username": "@Author_1", "bio": ""
    });
    account["chats"]["list"][0]["messages"][0]["from_id"] = "user5012345678".into();
    account["contacts"] = serde_json::json!({"about": "", "list": [
        {"user_id": 6000000001i64, "first_name": "Piet", "last_name": "", "phone_number": "0687654321",
         "date": "2023-11-14T23:13:20", "date_unixtime": "1700000000"}
    ]});
    let nl = CommsOptions {
        region: Some("NL".into()),
        ..Default::default()
    };
    let (_, p) = jsonchats::parse(&serde_json::to_vec(&account).unwrap(), &nl);
    let first_of = |kind: &str| p.records.iter().find(|r| r.kind.as_str() == kind).unwrap();
    let ids = |r: &spoor::comms::CommRecord| -> Vec<String> {
        r.participants
            .iter()
            .map(|p| p.identifier.clone())
            .collect()
    };
    let owner = first_of("account");
    assert_eq!(owner.locator["json_pointer"], "/personal_information");
    assert_eq!(
        ids(owner),
        [
            "telegram:user5012345678",
            "tel:+31612345678",
            "telegram-username:author_1"
        ]
    );
    assert_eq!(owner.participants[0].name.as_deref(), Some("Author One"));
    assert_eq!(first_of("message").direction, "outgoing");
    // Its address book: a contact record with the Telegram user and the number (--region NL).
    let contact = first_of("contact");
    assert_eq!(contact.locator["json_pointer"], "/contacts/list/0");
    assert_eq!(
        ids(contact),
        ["telegram:user6000000001", "tel:+31687654321"]
    );
    assert_eq!(contact.participants[1].name.as_deref(), Some("Piet"));
    assert_eq!(contact.time.utc.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(contact.time.offset.as_deref(), Some("+01:00"));

    let (format, p) = jsonchats::parse(&read("comms/json/instagram.json"), &none);
    assert_eq!(format, Some(jsonchats::META));
    assert_eq!(triples(&p), target("comms/json/instagram_target.json"));

    // Messenger's target gives epoch milliseconds.
    let (_, p) = jsonchats::parse(&read("comms/json/messenger.json"), &none);
    let t: Vec<serde_json::Value> =
        serde_json::from_slice(&read("comms/json/messenger_target.json")).unwrap();
    let mut want: Vec<(String, String)> = t
        .iter()
        .map(|t| {
            (
                t["author"].as_str().unwrap().into(),
                t["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    want.sort();
    let mut got: Vec<(String, String)> = p
        .records
        .iter()
        .map(|r| (r.participants[0].raw.clone(), r.body.clone().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(
        p.records[0].time.utc.as_deref(),
        Some("2022-11-16T19:50:03.612Z")
    );

    // Broken JSON: a clear error with its place, nothing invented.
    let (format, p) = jsonchats::parse(b"{\"messages\": [{\"sender_name\": \"A\",", &none);
    assert_eq!(format, None);
    assert!(
        p.records.is_empty() && p.damage[0].starts_with("line 1 column"),
        "{:?}",
        p.damage
    );
}

#[test]
fn bandicoot_cdrs_equal_bandicoots_own_report_and_bad_rows_are_reported_by_line() {
    use spoor::comms::cdr::{self, Mapping};
    let none = CommsOptions::default();
    let p = cdr::parse(
        &read("comms/cdr/A.csv"),
        "A.csv",
        &Mapping::bandicoot(),
        &none,
    );
    let report: serde_json::Value =
        serde_json::from_slice(&read("comms/cdr/manual_a.json")).unwrap();
    let a = &report["A"];
    assert!(p.damage.is_empty(), "{:?}", p.damage);
    assert_eq!(
        p.records.len() as u64,
        a["reporting__number_of_records"].as_u64().unwrap()
    );
    let mut times: Vec<String> = p
        .records
        .iter()
        .map(|r| r.time.local.clone().unwrap().replace('T', " "))
        .collect();
    times.sort();
    assert_eq!(times[0], a["reporting__start_time"].as_str().unwrap());
    assert_eq!(
        times.last().unwrap(),
        a["reporting__end_time"].as_str().unwrap()
    );
    assert!(
        p.records
            .iter()
            .any(|r| r.kind == spoor::comms::RecordKind::Call)
    );
    assert!(
        p.records
            .iter()
            .any(|r| r.kind == spoor::comms::RecordKind::Message)
    );
    let first = &p.records[0];
    assert_eq!(
        (first.direction, first.extra["duration_s"].as_i64()),
        ("incoming", Some(137))
    );
    // The subscriber (the file name) is normalised like every party (issue 13).
    assert_eq!(first.participants[1].identifier, "tel-raw:A");
    assert!(!first.time.zone_known);
    // Inconsistent columns and a bad time: reported with their line, the rest kept.
    let mut bad = read("comms/cdr/A.csv");
    if bad.last() != Some(&b'\n') {
        bad.push(b'\n');
    }
    bad.extend_from_slice(b"call,out,B,2014-08-22 10:00:00\ncall,out,B,2014-02-30 10:00:00,5,1\n");
    let p = cdr::parse(&bad, "A.csv", &Mapping::bandicoot(), &none);
    assert_eq!(p.records.len(), 7);
    assert_eq!(p.damage.len(), 2, "{:?}", p.damage);
    assert!(
        p.damage[0].starts_with("line 9: 4 columns where the header has 6"),
        "{:?}",
        p.damage
    );
}

#[test]
fn an_operators_own_cdr_layout_is_read_through_a_mapping_file() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(
        &ev.join("operator.csv"),
        b"type;dir;other_number;start;seconds\nVOICE;MO;0612345678;1700000000;61\nSMS;MT;+31 20 123 4567;1700000100;\n",
    );
    let mapping = dir.path().join("op.toml");
    std::fs::write(
        &mapping,
        "name = \"operator-x\"\ndelimiter = \";\"\nkind = \"type\"\ndirection = \"dir\"\nparty = \"other_number\"\n\
         time = \"start\"\nduration = \"seconds\"\ncall_values = [\"VOICE\"]\ntext_values = [\"SMS\"]\n\
         incoming_values = [\"MT\"]\noutgoing_values = [\"MO\"]\ntime_format = \"epoch\"\nzone = \"UTC\"\n",
    )
    .unwrap();
    let o = common::scan(
        &ev,
        &case,
        "T",
        &[
            "--quiet",
            "--region",
            "NL",
            "--cdr-mapping",
            mapping.to_str().unwrap(),
        ],
    );
    expect_code(&o, 0, "scan with a CDR mapping");
    let records = common::export(&case, "records");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["kind"], "call");
    assert_eq!(records[0]["direction"], "outgoing");
    assert_eq!(
        records[0]["participants"][0]["identifier"],
        "tel:+31612345678"
    );
    assert_eq!(records[0]["time"]["utc"], "2023-11-14T22:13:20Z");
    assert_eq!(
        records[1]["participants"][0]["identifier"],
        "tel:+31201234567"
    );
    // A mapping with a field spoor does not know is refused before anything is read.
    std::fs::write(&mapping, "name = \"x\"\ncolour = \"red\"\n").unwrap();
    let o = common::scan(
        &ev,
        &dir.path().join("c2"),
        "T",
        &["--cdr-mapping", mapping.to_str().unwrap()],
    );
    expect_code(&o, 1, "bad mapping");
}

#[test]
fn a_maildir_reads_as_pythons_email_package_reads_it_and_broken_mime_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let o = common::scan(&data("comms/email/maildir"), &case, "T", &["--quiet"]);
    expect_code(&o, 0, "scan of a maildir");
    let records = common::export(&case, "records");
    let reference = std::fs::read_to_string(data("comms/email/maildir.tsv")).unwrap();
    let mut compared = 0;
    for line in reference.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let r = records
            .iter()
            .find(|r| r["path"] == c[0])
            .unwrap_or_else(|| panic!("no record for {}", c[0]));
        let ids = |roles: &[&str]| -> String {
            let mut v: Vec<String> = r["participants"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| roles.contains(&p["role"].as_str().unwrap()))
                .map(|p| {
                    p["identifier"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("email:")
                        .to_string()
                })
                .collect();
            v.sort();
            v.join(",")
        };
        assert_eq!(ids(&["from"]), c[1], "{}: from", c[0]);
        assert_eq!(ids(&["to", "cc"]), c[2], "{}: to/cc", c[0]);
        assert_eq!(
            r["time"]["utc"].as_str().unwrap_or(""),
            c[3],
            "{}: date",
            c[0]
        );
        assert_eq!(
            r["extra"]["message_id"].as_str().unwrap_or(""),
            c[4],
            "{}: message-id",
            c[0]
        );
        assert_eq!(r["format"], "email-rfc5322");
        compared += 1;
    }
    assert_eq!(compared, 53);
    // Threads: replies carry their thread's root message id.
    assert!(records.iter().any(|r| {
        r["extra"]["in_reply_to"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    }));

    // Real spam with broken MIME and notmuch's broken corpus: each read, nothing lost.
    let ev = dir.path().join("broken");
    for f in ["mail_malformed_2", "mail_malformed_3", "mail_test_3"] {
        common::write(&ev.join(f), &read(&format!("comms/email/{f}")));
    }
    for (i, f) in walk_files(&data("comms/email/broken")).iter().enumerate() {
        common::write(&ev.join(format!("broken-{i}")), &std::fs::read(f).unwrap());
    }
    let case2 = dir.path().join("case2");
    let o = common::scan(&ev, &case2, "T", &["--quiet"]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{}",
        common::stderr(&o)
    );
    let records = common::export(&case2, "records");
    assert_eq!(records.len(), 8, "{records:?}");
    // The eighth: the bounced message's headers (message/rfc822-headers) attached to a delivery
    // failure, read as the message they are, from its child item.
    let bounced = records
        .iter()
        .find(|r| r["path"] == "mail_malformed_2//message/attachment-2/unnamed")
        .unwrap();
    assert_eq!(bounced["extra"]["subject"], "Trabajo perfecto a distancia");
    // Both `Cc:` and `cc:` headers count.
    let cc = records
        .iter()
        .find(|r| r["extra"]["subject"] == "wowsers!")
        .unwrap();
    let ccs: Vec<&str> = cc["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["role"] == "cc")
        .map(|p| p["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ccs, ["email:bob@example.org", "email:charles@example.org"]);
    let spam = records
        .iter()
        .find(|r| r["path"] == "mail_malformed_3")
        .unwrap();
    assert!(!spam["participants"].as_array().unwrap().is_empty());
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn entities_are_found_in_message_bodies_documents_and_measured_on_a_generated_corpus() {
    // Precision and recall on a generated chat corpus with planted entities and decoys.
    let (text, truth) = spoor::text::corpus::generate(3000, 11);
    let found: Vec<(&'static str, String)> = spoor::text::entities::extract(&text, Some("NL"))
        .into_iter()
        .map(|e| (e.kind, e.value))
        .collect();
    for (kind, (tp, fp, fn_)) in spoor::text::corpus::score(&found, &truth) {
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        assert!(
            precision >= 0.99 && recall >= 0.99,
            "{kind}: precision {precision}, recall {recall}"
        );
    }
    // In a scan: from a WhatsApp export (pointing at the record) and from a plain document.
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(
        &ev.join("chat.txt"),
        "24/12/19, 11:23 - Bob: pay NL91 ABNA 0417 1643 00 today\n24/12/19, 11:25 - Bob: or call 06-12345678\n".as_bytes(),
    );
    common::write(
        &ev.join("letter.txt"),
        b"Wallet: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\nNot an IBAN: NL91ABNA0417164301\n",
    );
    let o = common::scan(&ev, &case, "T", &["--quiet", "--region", "NL"]);
    expect_code(&o, 0, "scan with entities");
    let obs = common::export(&case, "observations");
    let entity = |path: &str, kind: &str| -> Vec<&serde_json::Value> {
        obs.iter()
            .filter(|o| {
                o["kind"] == "text.entity" && o["path"] == path && o["value"]["entity"] == kind
            })
            .collect()
    };
    let iban = entity("chat.txt", "iban");
    assert_eq!(iban.len(), 1);
    assert_eq!(iban[0]["value"]["value"], "NL91ABNA0417164300");
    assert_eq!(iban[0]["value"]["occurrences"][0]["in"]["line"], 1);
    assert_eq!(
        entity("chat.txt", "phone")[0]["value"]["value"],
        "+31612345678"
    );
    assert_eq!(entity("letter.txt", "bitcoin").len(), 1);
    assert!(
        entity("letter.txt", "iban").is_empty(),
        "a failing mod-97 is not an IBAN"
    );
}

#[test]
fn phone_databases_are_read_from_their_bytes_and_never_touched() {
    use spoor::comms::sqlite;
    let nl = CommsOptions {
        region: Some("NL".into()),
        ..Default::default()
    };
    let (format, p) = sqlite::parse(&read("comms/sqlite/mmssms.db"), &nl);
    assert_eq!(format, Some(sqlite::ANDROID_SMS));
    assert_eq!(p.records.len(), 4 + 2);
    let r = &p.records[1];
    assert_eq!(
        (r.direction, r.body.as_deref()),
        ("outgoing", Some("ok, Parking P3"))
    );
    assert_eq!(r.locator, serde_json::json!({"table": "sms", "rowid": 2}));
    assert_eq!(r.time.utc.as_deref(), Some("2023-11-14T22:15:00Z"));
    // A national number becomes E.164 with the region.
    assert_eq!(p.records[3].participants[0].identifier, "tel:+31687654321");
    // MMS: the received picture message, its text part as body and its picture named with the
    // file's path on the phone; the sent group message to two numbers, the owner's own token
    // left out. Dates are seconds in `pdu`.
    let mms = &p.records[4];
    assert_eq!(mms.locator, serde_json::json!({"table": "pdu", "rowid": 1}));
    assert_eq!(mms.direction, "incoming");
    assert_eq!(mms.body.as_deref(), Some("the car, see picture"));
    assert_eq!(mms.time.utc.as_deref(), Some("2023-11-14T22:25:00Z"));
    assert_eq!(mms.participants[0].role, "from");
    assert_eq!(mms.participants[0].identifier, "tel:+31612345678");
    assert_eq!(mms.extra["attachments"][0]["content_type"], "image/jpeg");
    assert!(
        mms.extra["attachments"][0]["device_path"]
            .as_str()
            .unwrap()
            .ends_with("PART_1700000700000_IMG_0042.jpg")
    );
    let group = &p.records[5];
    assert_eq!(group.direction, "outgoing");
    assert_eq!(group.extra["subject"], "plan");
    let to: Vec<&str> = group
        .participants
        .iter()
        .filter(|p| p.role == "to")
        .map(|p| p.identifier.as_str())
        .collect();
    assert_eq!(to, ["tel:+31687654321", "tel:+31611122233"]);

    let (format, p) = sqlite::parse(&read("comms/sqlite/calllog.db"), &nl);
    assert_eq!(format, Some(sqlite::ANDROID_CALLS));
    let dirs: Vec<&str> = p.records.iter().map(|r| r.direction).collect();
    assert_eq!(dirs, ["incoming", "missed", "outgoing"]);
    assert_eq!(p.records[2].extra["duration_s"], 305);

    let (format, p) = sqlite::parse(&read("comms/sqlite/sms.db"), &nl);
    assert_eq!(format, Some(sqlite::IOS_SMS));
    assert_eq!(
        p.records[0].time.utc.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    assert_eq!(p.records[1].direction, "outgoing");
    assert_eq!(
        p.records[2].participants[0].identifier,
        "email:anna@example.nl"
    );
    assert_eq!(p.records[2].thread.as_deref(), Some("anna@example.nl"));
    assert!(p.damage.is_empty(), "{:?}", p.damage);
    let ids = |r: &spoor::comms::CommRecord| -> Vec<String> {
        r.participants
            .iter()
            .map(|p| p.identifier.clone())
            .collect()
    };
    // iOS 16+: the owner's message to a group has no handle and no `text`; its body is read
    // from attributedBody (checked against pytypedstream when the fixture was made), and it
    // goes to every member of the group.
    let group = &p.records[3];
    assert_eq!(group.direction, "outgoing");
    assert!(
        group
            .body
            .as_deref()
            .unwrap()
            .starts_with("Drop at the depot tonight, gate 4 — bring")
    );
    assert!(
        group
            .body
            .as_deref()
            .unwrap()
            .ends_with("Delete this after reading.")
    );
    assert_eq!(group.extra["body_from"], "attributedBody");
    assert_eq!(ids(group), ["tel:+31612345678", "tel:+31687654321"]);
    assert!(group.participants.iter().all(|p| p.role == "to"));
    assert_eq!(group.thread.as_deref(), Some("chat493817236"));
    assert_eq!(group.extra["chat_name"], "Depot");
    // A member's reply reaches the sender and the group's other member; its photo is listed
    // with the file's path on the phone.
    let reply = &p.records[4];
    assert_eq!(ids(reply), ["tel:+31687654321", "tel:+31612345678"]);
    assert_eq!(
        (reply.participants[0].role, reply.participants[1].role),
        ("from", "to")
    );
    let photo = &reply.extra["attachments"][0];
    assert_eq!(photo["content_type"], "image/heic");
    assert_eq!(
        photo["device_path"],
        "~/Library/SMS/Attachments/4f/15/AT1/IMG_0042.HEIC"
    );
    assert_eq!(photo["size"], 1834221);
    // The phone's own accounts, one record each, from chat.account_login.
    let accounts: Vec<Vec<String>> = p
        .records
        .iter()
        .filter(|r| r.kind.as_str() == "account")
        .map(ids)
        .collect();
    assert_eq!(
        accounts,
        [["tel:+31611111111"], ["email:owner@icloud.example"]]
    );
    // A broken attributedBody is said to be broken, the message kept.
    assert!(
        spoor::comms::typedstream::attributed_text(b"\x04\x0bstreamtyped\x81\xe8\x03").is_err()
    );

    // An older iOS layout (no attributedBody, chat without style or display_name, no
    // attachment tables) is read with what it has.
    let old_ios = tempfile::tempdir().unwrap();
    let old_db = old_ios.path().join("sms.db");
    let conn = rusqlite::Connection::open(&old_db).unwrap();
    conn.execute_batch(
        "CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT, service TEXT);
         CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT, handle_id INTEGER, service TEXT,
                               date INTEGER, is_from_me INTEGER);
         CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, chat_identifier TEXT);
         CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER);
         INSERT INTO handle VALUES (1, '+31612345678', 'SMS');
         INSERT INTO message VALUES (1, 'old phone', 1, 'SMS', 400000000, 0);
         INSERT INTO chat VALUES (1, '+31612345678');
         INSERT INTO chat_message_join VALUES (1, 1);",
    )
    .unwrap();
    drop(conn);
    let (format, p) = sqlite::parse(&std::fs::read(&old_db).unwrap(), &nl);
    assert_eq!(format, Some(sqlite::IOS_SMS), "{:?}", p.damage);
    assert_eq!(p.records.len(), 1, "{:?}", p.damage);
    assert_eq!(p.records[0].body.as_deref(), Some("old phone"));
    // Seconds since 2001 before iOS 11.
    assert_eq!(
        p.records[0].time.utc.as_deref(),
        Some("2013-09-04T15:06:40Z")
    );

    let (format, p) = sqlite::parse(&read("comms/sqlite/contacts2.db"), &nl);
    assert_eq!(format, Some(sqlite::ANDROID_CONTACTS));
    assert_eq!(p.records.len(), 4 + 2, "{:?}", p.damage);
    // The phone's own contact: both numbers in E.164, the address lower-cased, the name on each.
    let own = &p.records[0];
    assert_eq!(own.kind.as_str(), "contact");
    assert_eq!(
        ids(own),
        [
            "tel:+31612345678",
            "tel:+31201234567",
            "email:bram@example.nl"
        ]
    );
    assert_eq!(own.participants[0].name.as_deref(), Some("Bram"));
    assert_eq!(own.extra["starred"], true);
    assert_eq!(own.extra["last_time_contacted"], "2023-11-14T22:23:20Z");
    assert_eq!(own.extra["organization"][0], "Transport BV");
    assert_eq!(
        own.locator,
        serde_json::json!({"table": "raw_contacts", "rowid": 1})
    );
    // Google's and WhatsApp's views of the same number meet it as the same identifier.
    assert_eq!(p.records[1].extra["account_type"], "com.google");
    assert_eq!(ids(&p.records[1]), ["tel:+31612345678"]);
    assert_eq!(p.records[2].extra["account_type"], "com.whatsapp");
    assert_eq!(ids(&p.records[2]), ["tel:+31612345678"]);
    assert_eq!(
        p.records[2].extra["app_rows"][0]["data1"],
        "31612345678@s.whatsapp.net"
    );
    // A deleted contact still in the table is kept, and said to be deleted.
    assert_eq!(p.records[3].extra["deleted"], true);
    assert_eq!(ids(&p.records[3]), ["tel:+31687654321", "im-7:kees_77"]);
    // The accounts the contacts sync with: Google's, named by its address; WhatsApp's, which has
    // no identity in its name. The phone's local account (no name, no type) is left out.
    let google = &p.records[4];
    assert_eq!(google.kind.as_str(), "account");
    assert_eq!(ids(google), ["email:bram.example@gmail.com"]);
    assert_eq!(google.participants[0].role, "owner");
    assert_eq!(p.records[5].extra["account_type"], "com.whatsapp");
    assert!(p.records[5].participants.is_empty());

    // A database left in WAL mode is read, and said to be in it (its -wal is not read).
    let mut wal = read("comms/sqlite/calllog.db");
    wal[18] = 2;
    wal[19] = 2;
    let (format, p) = sqlite::parse(&wal, &nl);
    assert_eq!(format, Some(sqlite::ANDROID_CALLS), "{:?}", p.damage);
    assert_eq!(p.records.len(), 3);
    assert_eq!(p.summary["journal_mode"], "wal");

    // Its -wal seized beside it: applied to a private copy. The main file alone has the two
    // checkpointed messages; with the WAL, a third message, the first changed, the second
    // deleted: each said so.
    let main = read("comms/sqlite/wal/mmssms.db");
    let wal_bytes = read("comms/sqlite/wal/mmssms.db-wal");
    let (_, alone) = sqlite::parse(&main, &nl);
    let bodies = |p: &spoor::comms::Parsed| -> Vec<(String, String)> {
        p.records
            .iter()
            .map(|r| {
                (
                    r.body.clone().unwrap_or_default(),
                    r.extra["wal"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        bodies(&alone),
        [
            ("meet at the depot".to_string(), String::new()),
            ("which gate?".to_string(), String::new())
        ]
    );
    assert_eq!(alone.summary["journal_mode"], "wal");
    let (format, applied) = sqlite::parse_with_wal(&main, &wal_bytes, &nl);
    assert_eq!(format, Some(sqlite::ANDROID_SMS), "{:?}", applied.damage);
    assert_eq!(
        bodies(&applied),
        [
            ("meet at the depot at 9".to_string(), "changed".to_string()),
            ("gate 4, bring cash".to_string(), "added".to_string()),
            ("which gate?".to_string(), "deleted".to_string()),
        ]
    );
    assert_eq!(applied.records[0].extra["wal_before"], "meet at the depot");
    assert_eq!(applied.summary["wal"]["added"], 1);
    // A damaged -wal: the main file's rows are kept and the damage said.
    let (_, broken) = sqlite::parse_with_wal(&main, &[0x55; 4096], &nl);
    assert_eq!(broken.records.len(), 2);
    assert!(
        broken.damage[0].contains("not a SQLite WAL"),
        "{:?}",
        broken.damage
    );

    // A scan: records from all three; the evidence folder byte for byte as before, no journal
    // or WAL left beside the databases; a damaged database is an error record.
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    for f in ["mmssms.db", "calllog.db", "sms.db", "contacts2.db"] {
        common::write(&ev.join(f), &read(&format!("comms/sqlite/{f}")));
    }
    for f in ["mmssms.db", "mmssms.db-wal"] {
        common::write(
            &ev.join("live").join(f),
            &read(&format!("comms/sqlite/wal/{f}")),
        );
    }
    let mut damaged = read("comms/sqlite/mmssms.db");
    for b in damaged.iter_mut().skip(100).take(4000) {
        *b = 0xA5;
    }
    common::write(&ev.join("damaged.db"), &damaged);
    let before = common::snapshot(&ev);
    let o = common::scan(&ev, &case, "T", &["--quiet", "--region", "NL"]);
    expect_code(&o, 2, "scan with a damaged database");
    common::assert_same_tree(&before, &common::snapshot(&ev));
    let records = common::export(&case, "records");
    // mmssms.db, calllog.db, sms.db (5 messages, 2 accounts), contacts2.db (4 contacts, 2
    // accounts), the live database with its WAL.
    assert_eq!(records.len(), 6 + 3 + (5 + 2) + (4 + 2) + 3);
    assert!(
        records
            .iter()
            .any(|r| r["path"] == "live/mmssms.db" && r["extra"]["wal"] == "added")
    );
    let errors = common::export(&case, "errors");
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "damaged.db" && e["stage"] == "comms"),
        "{errors:?}"
    );
}

#[test]
fn the_word_index_finds_messages_and_watch_lists_make_hits_and_leads() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    common::write(
        &ev.join("backup.xml"),
        &read("comms/smsbackup/sms_and_mms.xml"),
    );
    common::write(
        &ev.join("chat.txt"),
        "24/12/19, 11:23 - Bob: the package is at the Parking garage\n24/12/19, 11:25 - Eve: bring the   parking ticket\n".as_bytes(),
    );
    // A document (not an export): its text is indexed and watched too.
    common::write(
        &ev.join("notes/plan.txt"),
        b"Delivery plan\nthe warehouse in Rotterdam opens at six; bring the parking ticket\n",
    );
    let list = dir.path().join("watch.txt");
    std::fs::write(&list, "# terms\nparking ticket\tlogistics\npackage\n").unwrap();
    let o = common::scan(
        &ev,
        &case,
        "T",
        &["--quiet", "--keywords", list.to_str().unwrap()],
    );
    expect_code(&o, 2, "scan (the truncated backup is an item error)");
    assert!(case.join("index").is_dir());
    let o = common::run(&[
        "search",
        case.to_str().unwrap(),
        "\"body text 42\"",
        "--json",
    ]);
    expect_code(&o, 0, "search");
    let hits: Vec<serde_json::Value> = common::stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["path"], "backup.xml");
    assert_eq!(hits[0]["locator"]["element"], "sms");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("[Body]"),
        "{hits:?}"
    );
    // Keyword hits: whole words, any case, a phrase across spaces; with their category.
    let obs = common::export(&case, "observations");
    let hits: Vec<&serde_json::Value> = obs
        .iter()
        .filter(|o| o["kind"] == "text.keyword_hit")
        .collect();
    let ticket = hits
        .iter()
        .find(|h| h["value"]["term"] == "parking ticket")
        .unwrap();
    assert_eq!(ticket["value"]["category"], "logistics");
    assert_eq!(ticket["value"]["occurrences"][0]["in"]["line"], 2);
    assert!(hits.iter().any(|h| h["value"]["term"] == "package"));
    assert!(
        hits.iter()
            .any(|h| h["path"] == "notes/plan.txt" && h["value"]["term"] == "parking ticket")
    );
    let o = common::run(&["search", case.to_str().unwrap(), "warehouse", "--json"]);
    expect_code(&o, 0, "search a document");
    let found: Vec<serde_json::Value> = common::stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["path"], "notes/plan.txt");
    assert_eq!(found[0]["kind"], "document");
    let o = common::run(&["leads", case.to_str().unwrap(), "--json"]);
    assert!(common::stdout(&o).contains("keyword-hit"));
    // A query that does not parse is a clear error.
    let o = common::run(&["search", case.to_str().unwrap(), "body AND ("]);
    expect_code(&o, 1, "bad query");
}
