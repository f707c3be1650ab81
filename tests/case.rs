//! The case as a whole through the binary: fatal errors first, the demo flow through review
//! and report, stable exports, evidence verification, audit tampering, kill and resume.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

fn demo(dir: &Path) -> (Vec<String>, Vec<String>) {
    let o = run(&["demo-data", dir.to_str().unwrap()]);
    expect_code(&o, 0, "demo-data");
    let devices = ["laptop-bram", "phone-anna", "usb-stick"]
        .iter()
        .map(|d| dir.join(d).to_str().unwrap().to_string())
        .collect();
    let sets = vec![
        format!(
            "{}:bad:CAT-DEMO",
            dir.join("hashsets/demo-known-bad.txt").display()
        ),
        format!(
            "{}:good",
            dir.join("hashsets/demo-known-good-NSRLFile.txt").display()
        ),
    ];
    (devices, sets)
}

fn scan_demo(demo_dir: &Path, case: &Path) -> std::process::Output {
    let (devices, sets) = demo(demo_dir);
    let mut args: Vec<String> = vec!["scan".into()];
    args.extend(devices);
    args.extend([
        "--case".into(),
        case.to_str().unwrap().into(),
        "--examiner".into(),
        "Tester".into(),
    ]);
    for s in sets {
        args.extend(["--hashset".into(), s]);
    }
    spoor().args(&args).output().unwrap()
}

#[test]
fn fatal_errors_are_reported_before_any_evidence_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(&evidence.join("a.txt"), b"a");
    let ev = evidence.to_str().unwrap();
    let case = tmp.path().join("case");
    let c = case.to_str().unwrap();

    // A case directory on a location nobody can write (procfs refuses new entries, even to root).
    let o = run(&[
        "scan",
        ev,
        "--case",
        "/proc/spoor-case-test",
        "--examiner",
        "T",
    ]);
    expect_code(&o, 1, "read-only case location");
    assert!(
        stderr(&o).contains("/proc/spoor-case-test"),
        "{}",
        stderr(&o)
    );

    let rules = tmp.path().join("rules.toml");
    std::fs::write(&rules, "version = \"1\"\n\n[[rule]]\nid = \"r\"\ntitle = \"t\"\nkinds = [\"x\"]\nweight = \"heavy\"\nexplain = \"e\"\n").unwrap();
    let o = run(&[
        "scan",
        ev,
        "--case",
        c,
        "--examiner",
        "T",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    expect_code(&o, 1, "invalid rules");
    assert!(
        stderr(&o).contains("line 7"),
        "the rules error names its line: {}",
        stderr(&o)
    );
    assert!(
        !case.exists(),
        "the case directory was created although the rules were invalid"
    );

    let o = run(&[
        "scan",
        ev,
        "--case",
        c,
        "--examiner",
        "T",
        "--hashset",
        "/nonexistent/set.txt:bad",
    ]);
    expect_code(&o, 1, "missing hash set");
    assert!(!case.exists(), "an empty case directory was left behind");

    let o = run(&[
        "scan",
        ev,
        "--case",
        evidence.join("case").to_str().unwrap(),
        "--examiner",
        "T",
    ]);
    expect_code(&o, 1, "case inside the evidence");
    assert!(
        stderr(&o).contains("inside evidence source"),
        "{}",
        stderr(&o)
    );
    assert!(
        !evidence.join("case").exists(),
        "something was written into the evidence"
    );

    let o = run(&[
        "scan",
        tmp.path().join("missing").to_str().unwrap(),
        "--case",
        c,
        "--examiner",
        "T",
    ]);
    expect_code(&o, 1, "missing evidence");
    let o = run(&["scan", ev, "--case", c, "--examiner", " "]);
    expect_code(&o, 1, "blank examiner");
}

#[test]
fn demo_leads_review_and_report_keep_findings_apart_from_proposals() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let c = case.to_str().unwrap();
    let o = scan_demo(&tmp.path().join("demo"), &case);
    expect_code(&o, 0, "demo scan");
    assert!(
        stdout(&o).contains("line 6: not a digest line"),
        "the demo set's malformed line is reported: {}",
        stdout(&o)
    );

    let all = export(&case, "leads");
    assert!(all.iter().all(|l| l["state"] == "proposed"));
    // Leads on items, on the cluster of the flagged picture's copies, and on identities of
    // the network (its roles: tests/graph.rs) and pairs of them.
    let of = |kinds: &[&str]| -> Vec<serde_json::Value> {
        all.iter()
            .filter(|l| kinds.contains(&l["subject"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    let leads = of(&["item"]);
    let clusters = of(&["picture-cluster"]);
    let identities = of(&["identity", "identity-pair"]);
    assert_eq!(leads.len(), 8, "{leads:#?}");
    assert_eq!(leads.len() + clusters.len() + identities.len(), all.len());
    // The flagged picture, its copy on Anna's phone and its frame in her video are one lead
    // to review, on two devices: the members are gathered under it and share its rank.
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let cluster = &clusters[0];
    assert_eq!(
        cluster["rules"],
        serde_json::json!(["flagged-picture-on-several-devices"])
    );
    let mut gathered: Vec<&str> = leads
        .iter()
        .filter(|l| l["part_of"] == cluster["id"])
        .inspect(|l| assert_eq!(l["rank"], cluster["rank"]))
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    gathered.sort();
    assert_eq!(
        gathered,
        [
            "DCIM/Camera/VID_20240305_101500.avi//frame-0001@2.000s",
            "Pictures/flagged-0001.png",
            "WhatsApp/Media/Images/IMG-20240303-WA0001.png"
        ]
    );
    assert_eq!(cluster["score"], 100.0, "its strongest member's score");
    // The video's frame showing the known-bad picture is in no hash set, but a near-duplicate
    // of a listed picture: the combination says so, and rests on the listed picture's lead.
    let frame = leads
        .iter()
        .find(|l| l["path"].as_str().unwrap().contains("//frame-"))
        .expect("a lead on the video's frame");
    assert_eq!(
        frame["rules"],
        serde_json::json!(["near-duplicate-of-known-bad"])
    );
    assert_eq!(
        frame["hits"]["hits"][0]["parts"][0]["rule"],
        "hashset-known-bad"
    );
    assert!(
        !identities.is_empty() && identities.iter().all(|l| l["subject"] == "identity"),
        "{identities:#?}"
    );
    // Ranked: the leads that stand on their own by score descending, then id.
    let scores: Vec<f64> = all
        .iter()
        .filter(|l| l.get("part_of").is_none())
        .map(|l| l["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(leads[0]["path"], "WhatsApp/Media/Documents/contacts.txt");
    assert_eq!(
        leads[0]["rules"],
        serde_json::json!(["hashset-known-bad", "extension-mismatch"])
    );
    // Known-good files raise no lead, even where the extension would.
    assert!(
        !leads
            .iter()
            .any(|l| l["path"].as_str().unwrap().contains("driver"))
    );

    let top = leads[0]["id"].as_str().unwrap().to_string();
    let second = leads[1]["id"].as_str().unwrap().to_string();
    let third = leads[2]["id"].as_str().unwrap().to_string();
    let o = run(&["leads", "explain", c, &top]);
    expect_code(&o, 0, "explain");
    let text = stdout(&o);
    assert!(
        text.contains("rule hashset-known-bad")
            && text.contains("error margin: exact digest equality")
            && text.contains("not a finding"),
        "{text}"
    );

    let o = run(&[
        "review",
        c,
        &top,
        "confirm",
        "--by",
        "B. Reviewer",
        "--reason",
        " ",
    ]);
    expect_code(&o, 1, "a decision without a reason");
    expect_code(
        &run(&[
            "review",
            c,
            &top,
            "confirm",
            "--by",
            "B. Reviewer",
            "--reason",
            "viewed; matches the list",
        ]),
        0,
        "confirm",
    );
    // The same decision by the same reviewer again is refused, not logged twice (issue 11.13);
    // a second reviewer's concurring decision is a second opinion and is recorded.
    let again = run(&[
        "review",
        c,
        &top,
        "confirm",
        "--by",
        "B. Reviewer",
        "--reason",
        "viewed again",
    ]);
    expect_code(&again, 1, "the same confirmation twice");
    assert!(
        stderr(&again).contains("already confirmed"),
        "{}",
        stderr(&again)
    );
    expect_code(
        &run(&[
            "review",
            c,
            &top,
            "confirm",
            "--by",
            "C. Second",
            "--reason",
            "second opinion",
        ]),
        0,
        "a second reviewer's confirmation",
    );
    expect_code(
        &run(&[
            "review",
            c,
            &second[..6],
            "reject",
            "--by",
            "B. Reviewer",
            "--reason",
            "list error",
        ]),
        0,
        "reject by id prefix",
    );
    expect_code(
        &run(&[
            "review",
            c,
            &third,
            "needs-info",
            "--by",
            "B. Reviewer",
            "--reason",
            "ask the lab",
        ]),
        0,
        "needs-info",
    );

    let json_path = tmp.path().join("report.json");
    expect_code(
        &run(&[
            "report",
            c,
            "--format",
            "json",
            "--out",
            json_path.to_str().unwrap(),
        ]),
        0,
        "json report",
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let ids = |k: &str| {
        report[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("findings"), vec![top.clone()]);
    assert_eq!(ids("rejected"), vec![second.clone()]);
    let awaiting = ids("awaiting_review");
    assert_eq!(awaiting.len(), 6 + identities.len() + clusters.len());
    assert!(awaiting.contains(&third) && !awaiting.contains(&top) && !awaiting.contains(&second));
    assert_eq!(
        report["findings"][0]["reviews"][0]["reviewer"],
        "B. Reviewer"
    );

    expect_code(&run(&["report", c]), 0, "html report");
    let html = std::fs::read_to_string(case.join("exports/report.html")).unwrap();
    let findings_at = html.find("Findings (1)").expect("findings section");
    let awaiting_at = html
        .find(&format!(
            "AWAITING REVIEW ({})",
            6 + identities.len() + clusters.len()
        ))
        .expect("awaiting section");
    let top_first = html.find(&top).unwrap();
    assert!(
        findings_at < top_first && top_first < awaiting_at,
        "the confirmed lead is listed under findings"
    );
    assert!(
        !html[findings_at..awaiting_at].contains(&third),
        "an unconfirmed lead appears among the findings"
    );
    assert!(!html.contains('\x1b'), "raw terminal escape in the report");
    // The leads on pictures carry their thumbnail, embedded (the report is one file) and
    // blurred; `spoor reveal` shows the real one and the audit log records who looked.
    let flagged = html
        .find("Pictures/flagged-0001.png")
        .expect("the flagged picture's lead");
    let row_end = flagged + html[flagged..].find("</tr>").unwrap();
    let row = &html[flagged..row_end];
    let marker = "src=\"data:image/jpeg;base64,";
    let at = row
        .find(marker)
        .expect("no embedded thumbnail in the flagged picture's row");
    let b64 = &row[at + marker.len()..];
    let b64 = &b64[..b64.find('"').unwrap()];
    use base64::Engine;
    let embedded = image::load_from_memory(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
    .to_rgb8();
    let lead_id = export(&case, "leads")
        .into_iter()
        .find(|l| l["path"] == "Pictures/flagged-0001.png")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = run(&[
        "reveal",
        c,
        &lead_id,
        "--by",
        "B. Reviewer",
        "--reason",
        "check the match",
    ]);
    expect_code(&o, 0, "reveal");
    let real = image::open(stdout(&o).trim()).unwrap().to_rgb8();
    assert_eq!(embedded.dimensions(), real.dimensions());
    // The mosaic (12 cells across) loses the picture's detail: far from it pixel by pixel.
    let diff: u64 = embedded
        .as_raw()
        .iter()
        .zip(real.as_raw())
        .map(|(a, b)| a.abs_diff(*b) as u64)
        .sum();
    let mean = diff as f64 / real.as_raw().len() as f64;
    assert!(
        mean > 8.0,
        "the embedded thumbnail is hardly blurred (mean difference {mean:.1})"
    );
    let log = stdout(&run(&["audit", "log", c]));
    assert!(
        log.lines().any(|l| l.contains("\"reveal\"")
            && l.contains("B. Reviewer")
            && l.contains("check the match")),
        "the reveal is not in the audit log"
    );
    expect_code(
        &run(&["reveal", c, &lead_id, "--by", " ", "--reason", "x"]),
        1,
        "reveal without a name",
    );

    let o = run(&["audit", "verify", c]);
    expect_code(&o, 0, "audit verify");
    let log = stdout(&run(&["audit", "log", c]));
    for line in log.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            entry["rules_digest"].as_str().map(str::len),
            Some(64),
            "{line}"
        );
        assert_eq!(
            entry["config_digest"].as_str().map(str::len),
            Some(64),
            "{line}"
        );
    }
    for action in [
        "\"scan-start\"",
        "\"rules-change\"",
        "\"scan-complete\"",
        "\"review\"",
        "\"report\"",
    ] {
        assert!(log.contains(action), "audit log lacks {action}");
    }
}

fn export_all(case: &Path) -> String {
    let o = run(&[
        "export",
        case.to_str().unwrap(),
        "--kind",
        "items",
        "--kind",
        "observations",
        "--kind",
        "errors",
        "--kind",
        "leads",
    ]);
    expect_code(&o, 0, "export");
    stdout(&o)
}

#[test]
fn two_scans_of_the_same_evidence_export_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let demo_dir = tmp.path().join("demo");
    expect_code(&scan_demo(&demo_dir, &tmp.path().join("a")), 0, "scan a");
    let (devices, sets) = demo(&demo_dir);
    // Same evidence, rewritten identically, scanned again into another case; the hash sets
    // are given in the other order.
    let mut args: Vec<String> = vec!["scan".into()];
    args.extend(devices);
    args.extend([
        "--case".into(),
        tmp.path().join("b").to_str().unwrap().into(),
        "--examiner".into(),
        "Other".into(),
    ]);
    for s in sets.into_iter().rev() {
        args.extend(["--hashset".into(), s]);
    }
    expect_code(&spoor().args(&args).output().unwrap(), 0, "scan b");
    let (a, b) = (
        export_all(&tmp.path().join("a")),
        export_all(&tmp.path().join("b")),
    );
    // The demo writer recreates the files, so inode and ctime/btime legitimately differ.
    let strip = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if let Some(o) = v.as_object_mut() {
                    for k in ["inode", "ctime", "btime", "atime"] {
                        o.remove(k);
                    }
                }
                v
            })
            .collect()
    };
    assert!(a.lines().count() > 50);
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn verify_names_files_changed_missing_and_added() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    write(&evidence.join("same.txt"), b"same");
    write(&evidence.join("edit.txt"), b"before");
    write(&evidence.join("gone.txt"), b"gone");
    let case = tmp.path().join("case");
    expect_code(&scan(&evidence, &case, "T", &["--quiet"]), 0, "scan");
    expect_code(
        &run(&["verify", case.to_str().unwrap()]),
        0,
        "verify unchanged",
    );
    std::fs::write(evidence.join("edit.txt"), b"after!").unwrap();
    std::fs::remove_file(evidence.join("gone.txt")).unwrap();
    write(&evidence.join("new.txt"), b"new");
    let o = run(&["verify", case.to_str().unwrap()]);
    expect_code(&o, 3, "verify after changes");
    let out = stdout(&o);
    assert!(out.contains("changed: edit.txt: content changed"), "{out}");
    assert!(out.contains("missing: gone.txt"), "{out}");
    assert!(out.contains("added: new.txt"), "{out}");
    assert!(!out.contains("same.txt"), "{out}");
}

fn tampered(sql: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    expect_code(&scan_demo(&tmp.path().join("demo"), &case), 0, "scan");
    let lead = export(&case, "leads")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_code(
        &run(&[
            "review",
            case.to_str().unwrap(),
            &lead,
            "confirm",
            "--by",
            "R",
            "--reason",
            "ok",
        ]),
        0,
        "review",
    );
    expect_code(
        &run(&["audit", "verify", case.to_str().unwrap()]),
        0,
        "untouched log",
    );
    let conn = rusqlite::Connection::open(case.join("case.sqlite")).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    let o = run(&["audit", "verify", case.to_str().unwrap()]);
    (o.status.code().unwrap(), stdout(&o))
}

#[test]
fn audit_verify_detects_an_entry_changed_removed_or_reordered() {
    let (code, out) = tampered(
        "UPDATE audit SET details = replace(details, 'laptop-bram', 'laptop-xxxx') WHERE seq = 2",
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("BROKEN at entry 2") && out.contains("changed"),
        "{out}"
    );

    let (code, out) = tampered("UPDATE audit SET actor = 'Mallory' WHERE seq = 4");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("entry 4"), "{out}");

    let (code, out) = tampered("UPDATE audit SET rules_digest = '0' WHERE seq = 4");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("entry 4"), "{out}");

    let (code, out) = tampered("DELETE FROM audit WHERE seq = 2");
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("BROKEN at entry 3") && out.contains("removed"),
        "{out}"
    );

    let (code, out) = tampered(
        "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1;",
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("BROKEN at entry 2"), "{out}");

    let (code, out) = tampered("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("removed"), "{out}");
}

fn big_tree(root: &Path) {
    // ~0.8 GB in 3,200 files: long enough that a kill lands mid-scan.
    let block: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for d in 0..16 {
        for f in 0..200 {
            let mut content = block.clone();
            content[..8].copy_from_slice(&((d * 1000 + f) as u64).to_le_bytes());
            write(&root.join(format!("d{d:02}/f{f:03}.bin")), &content);
        }
    }
}

fn items_in(case: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        case.join("case.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap_or(0)
}

fn interrupt_and_resume(signal: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    big_tree(&evidence);
    let case = tmp.path().join("case");
    let args = [
        "scan",
        evidence.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        "--examiner",
        "T",
        "--quiet",
    ];
    let mut child = spoor()
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The scan runs in slices of a few milliseconds between SIGSTOP and SIGCONT, and the
    // case is looked at while it is stopped: a fast machine cannot finish the scan between
    // "an item is committed" and the interruption (issue 11: the old poll could lose that race).
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let pause = || rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    let resume = || rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    let started = Instant::now();
    pause();
    while items_in(&case) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no item committed within two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan ended before any item was seen committed"
        );
        resume();
        std::thread::sleep(Duration::from_millis(3));
        pause();
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the scan finished before it could be interrupted"
    );
    match signal {
        None => child.kill().unwrap(), // SIGKILL, delivered to a stopped process too
        Some(sig) => {
            let ok = std::process::Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            resume(); // the signal is handled once the process runs again
        }
    }
    let status = child.wait().unwrap();
    let partial = items_in(&case);
    assert!(
        partial > 0 && partial < 3216,
        "interrupted with {partial} items stored"
    );
    if signal == Some("-INT") {
        assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
    }

    let o = spoor()
        .args(args.iter().filter(|a| **a != "--quiet"))
        .output()
        .unwrap();
    expect_code(&o, 0, "resumed scan");
    assert!(
        !stdout(&o).contains("already stored 0;") && stdout(&o).contains("already stored "),
        "the rerun did not resume: {}",
        stdout(&o)
    );

    let clean = tmp.path().join("clean");
    let o = scan(&evidence, &clean, "T", &["--quiet"]);
    expect_code(&o, 0, "uninterrupted scan");
    let (a, b) = (export_all(&case), export_all(&clean));
    assert_eq!(
        a.lines().count(),
        3216,
        "3,200 files and 16 directories, once each"
    );
    assert!(
        a == b,
        "the resumed case exports differently from an uninterrupted scan"
    );
    assert!(
        !case.join("scan.journal").exists() && !case.join("scan.journal.slots").exists(),
        "journal left after a complete run"
    );
}

#[test]
fn a_scan_killed_with_sigkill_resumes_to_the_same_result() {
    interrupt_and_resume(None);
}

#[test]
fn a_scan_stopped_with_ctrl_c_exits_130_and_resumes() {
    interrupt_and_resume(Some("-INT"));
}

#[test]
fn a_label_clash_is_refused_before_anything_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write(&a.join("x.txt"), b"x");
    write(&b.join("y.txt"), b"y");
    let case = tmp.path().join("case");
    expect_code(
        &scan(&a, &case, "T", &["--label", "phone", "--quiet"]),
        0,
        "first scan",
    );
    let runs = || export(&case, "items").len();
    let before = runs();
    let o = scan(&b, &case, "T", &["--label", "phone"]);
    expect_code(&o, 1, "a second source with the same label");
    assert!(
        stderr(&o).contains("already names source"),
        "{}",
        stderr(&o)
    );
    let o = scan(&a, &case, "T", &["--label", "laptop"]);
    expect_code(&o, 1, "the same source relabelled");
    assert!(
        stderr(&o).contains("is labelled \"phone\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(runs(), before);
    // Without --label the stored label is kept and the scan resumes as usual.
    expect_code(
        &scan(&a, &case, "T", &["--quiet"]),
        0,
        "rescan without a label",
    );
    let log = stdout(&run(&["audit", "log", case.to_str().unwrap()]));
    assert_eq!(
        log.matches("\"scan-start\"").count(),
        2,
        "the refused runs left audit entries"
    );
}

/// Issue 12.5: the actions are library functions that write their own audit entry, so the
/// CLI and a web UI cannot differ on it: report, verify and reveal called directly.
#[test]
fn report_verify_and_reveal_write_their_own_audit_entries_when_called_from_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev.join("a.txt"), b"some evidence\n");
    let case = tmp.path().join("case");
    expect_code(&scan(&ev, &case, "T", &["--quiet"]), 0, "scan");
    let conn = spoor::store::open_store(&spoor::store::existing(&case).unwrap()).unwrap();
    let path = spoor::report::write_report(
        &conn,
        &case,
        spoor::report::Format::Json,
        None,
        "R. Porter",
        None,
    )
    .unwrap();
    assert!(path.ends_with("exports/report.json") && path.is_file());
    assert!(
        spoor::report::write_report(&conn, &case, spoor::report::Format::Json, None, " ", None)
            .is_err()
    );
    let verified = spoor::engine::verify_and_record(&conn, "V. Erifier").unwrap();
    assert!(!verified[0].differs());
    assert!(spoor::review::reveal(&conn, &case, "L", "", "why").is_err());
    let actions: Vec<(String, String)> = conn
        .prepare("SELECT actor, action FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tail: Vec<(&str, &str)> = actions
        .iter()
        .rev()
        .take(2)
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        tail,
        [("V. Erifier", "verify"), ("R. Porter", "report")],
        "{actions:?}"
    );
}

/// Issue 12.3: a case written before leads had a subject of any kind (schema version 3, kept in
/// tests/data) opens, upgrades, and keeps its leads, decisions and audit chain; its leads are
/// item subjects.
#[test]
fn a_case_of_schema_version_3_upgrades_and_keeps_its_leads_and_decisions() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    let old = common::data("cases/schema-v3");
    std::fs::copy(old.join("case.sqlite"), case.join("case.sqlite")).unwrap();
    let c = case.to_str().unwrap();
    let leads = export(&case, "leads");
    let before: Vec<serde_json::Value> = std::fs::read_to_string(old.join("leads-before.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(leads.len(), before.len());
    for (mut after, before) in leads.into_iter().zip(before) {
        assert_eq!(after["subject"], "item");
        assert!(
            after["subject_key"].as_str().unwrap().starts_with("item:"),
            "{after}"
        );
        let o = after.as_object_mut().unwrap();
        o.remove("subject");
        o.remove("subject_key");
        assert_eq!(after, before);
    }
    let reviews = export(&case, "reviews");
    let reviews_before = std::fs::read_to_string(old.join("reviews-before.jsonl")).unwrap();
    assert_eq!(
        reviews,
        reviews_before
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    );
    expect_code(
        &run(&["audit", "verify", c]),
        0,
        "audit chain of the upgraded case",
    );
    let conn = rusqlite::Connection::open(case.join("case.sqlite")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, spoor::store::SCHEMA_VERSION);
    let confirmed: String = conn
        .query_row(
            "SELECT state FROM leads WHERE id = 'L2353b4879250'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(confirmed, "confirmed");
    // The upgraded key is the one today's spoor writes for the same item (a rescan keeps it).
    let key: String = conn
        .query_row(
            "SELECT subject_key FROM leads WHERE id = 'L2353b4879250'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let expected = spoor::model::Subject::Item {
        source: "phone-anna".into(),
        path: b"WhatsApp/Media/Images/IMG-20240303-WA0001.png".to_vec(),
    };
    assert_eq!(key, expected.key());
}
