//! Parser throughput on a fixture scaled up (scripts/bench-parsers.sh runs it beside chat-miner).
//!
//!   parser_rate scale FORMAT FIXTURE MB OUT   writes OUT: the fixture's messages repeated to MB
//!   parser_rate parse FORMAT FILE             parses FILE, prints "seconds records MB/s records/s"
//!
//! FORMAT: `whatsapp` (a `.txt` export: its lines repeated), `smsbackup` (SMS Backup & Restore
//! XML: the elements inside the root repeated), `mbox` (FIXTURE is a maildir folder: its
//! messages joined into an mbox and repeated). One thread: a scan parses each export on one
//! worker, several exports at once.
use spoor::comms::{CommsOptions, email, smsbackup, whatsapp};

fn scale(format: &str, fixture: &str, mb: usize) -> Vec<u8> {
    let unit: Vec<u8> = match format {
        "whatsapp" => std::fs::read(fixture).expect("fixture"),
        "smsbackup" => {
            let xml = String::from_utf8(std::fs::read(fixture).expect("fixture")).expect("UTF-8");
            let open_end = xml
                .find("<smses")
                .and_then(|i| xml[i..].find('>').map(|j| i + j + 1));
            // The real export this is made from ends without its closing tag.
            let close = xml.rfind("</smses>").or(Some(xml.len()));
            let (Some(a), Some(b)) = (open_end, close) else {
                panic!("{fixture}: no <smses> root");
            };
            xml.as_bytes()[a..b].to_vec()
        }
        "mbox" => {
            let mut files: Vec<_> = walk(std::path::Path::new(fixture));
            files.sort();
            let mut out = Vec::new();
            for f in files {
                out.extend_from_slice(b"From sender@example.org Thu Jan  1 00:00:00 2009\n");
                let body = std::fs::read(&f).expect("message");
                // mboxrd: a body line starting "From " is quoted.
                for line in body.split_inclusive(|b| *b == b'\n') {
                    if line.starts_with(b"From ") {
                        out.push(b'>');
                    }
                    out.extend_from_slice(line);
                }
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.push(b'\n');
            }
            out
        }
        other => panic!("unknown format {other}"),
    };
    let mut out = Vec::with_capacity((mb << 20) + unit.len());
    if format == "smsbackup" {
        out.extend_from_slice(b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses>");
    }
    while out.len() < mb << 20 {
        out.extend_from_slice(&unit);
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    if format == "smsbackup" {
        out.extend_from_slice(b"</smses>\n");
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("scale") => {
            let mb: usize = args[3].parse().expect("MB");
            std::fs::write(&args[4], scale(&args[1], &args[2], mb)).expect("write");
        }
        Some("parse") => {
            let content = std::fs::read(&args[2]).expect("file");
            let options = CommsOptions {
                region: Some("NL".into()),
                ..Default::default()
            };
            let start = std::time::Instant::now();
            let parsed = match args[1].as_str() {
                "whatsapp" => whatsapp::parse(&content, "chat.txt", &options),
                "smsbackup" => smsbackup::parse(&content, &options),
                "mbox" => email::parse_mbox(&content, &options),
                other => panic!("unknown format {other}"),
            };
            let s = start.elapsed().as_secs_f64();
            println!(
                "{s:.3} {} {:.1} {:.0} damaged={}",
                parsed.records.len(),
                content.len() as f64 / 1e6 / s,
                parsed.records.len() as f64 / s,
                parsed.damage.len()
            );
        }
        _ => {
            eprintln!("usage: parser_rate scale FORMAT FIXTURE MB OUT | parse FORMAT FILE");
            std::process::exit(2);
        }
    }
}
