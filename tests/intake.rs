//! Evidence intake on hostile trees: special files, links, loops, odd names, long paths,
//! vanishing files, panicking analyzers, poison files. Digests are checked against coreutils.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use common::*;
use spoor::engine::analyzer::{Analyzer, ItemView, ObservationDraft};
use spoor::engine::{self, Progress, ScanHooks, ScanPlan, ScanRequest};

fn scan_with(plan: &ScanPlan, hooks: ScanHooks) -> engine::ScanSummary {
    engine::run_scan_with(plan, &Progress::default(), &AtomicBool::new(false), hooks).unwrap()
}

fn request(evidence: &Path, case: &Path) -> ScanRequest {
    ScanRequest {
        evidence: vec![evidence.to_path_buf()],
        case_dir: case.to_path_buf(),
        examiner: "Tester".into(),
        ..Default::default()
    }
}

/// Builds the tree of the bad-input list (all but the huge sparse file).
fn hostile_tree(root: &Path, outside: &Path) -> Vec<u8> {
    write(
        &root.join("docs/letter.txt"),
        b"Dear Sir,\nthe goods arrive Tuesday.\n",
    );
    write(
        &root.join("docs/data.bin"),
        &(0..300_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    write(&root.join("empty.txt"), b"");
    write(
        &root.join(std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.bin")),
        b"latin-1 name, not UTF-8",
    );
    write(
        &root.join("evil\x1b]0;pwned\x07\x1b[31m.txt"),
        b"terminal escapes in the name",
    );
    write(&root.join("photo.txt"), &spoor::demo::png(8, 8, 1));
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    std::os::unix::fs::symlink(".", root.join("docs/self")).unwrap();
    std::os::unix::fs::symlink("..", root.join("docs/parent")).unwrap();
    write(&outside.join("secret.txt"), b"outside the source");
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("escape")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", root.join("escape-relative")).unwrap();
    // 24 levels of 200-byte names: a path of 4,832 bytes, past PATH_MAX (4096).
    deep_file(root, 24, 200, b"found at the bottom")
}

#[test]
fn hostile_tree_is_recorded_whole_with_independent_digests_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&evidence).unwrap();
    let deep = hostile_tree(&evidence, &outside);
    assert!(deep.len() > 4096);
    age_access_times(&evidence);
    let before = snapshot(&evidence);

    let case = tmp.path().join("case");
    let o = scan(&evidence, &case, "Tester", &[]);
    expect_code(&o, 0, "scan of the hostile tree (no item error expected)");
    // Hostile names are never printed raw.
    assert!(!stdout(&o).contains('\x1b') && !stderr(&o).contains('\x1b'));

    assert_same_tree(&before, &snapshot(&evidence));

    let items = export(&case, "items");
    let by_path = |p: &str| {
        items
            .iter()
            .find(|i| i["path"] == p)
            .unwrap_or_else(|| panic!("no item {p:?}"))
    };
    for rel in ["docs/letter.txt", "docs/data.bin", "empty.txt"] {
        let file = evidence.join(rel);
        let item = by_path(rel);
        assert_eq!(item["md5"], coreutils_digest("md5sum", &file), "{rel}");
        assert_eq!(item["sha1"], coreutils_digest("sha1sum", &file), "{rel}");
        assert_eq!(
            item["sha256"],
            coreutils_digest("sha256sum", &file),
            "{rel}"
        );
    }
    assert_eq!(by_path("empty.txt")["size"], 0);
    assert_eq!(by_path("pipe")["kind"], "fifo");
    assert_eq!(by_path("pipe")["md5"], serde_json::Value::Null);
    assert_eq!(by_path("sock")["kind"], "socket");
    assert_eq!(by_path("loop")["kind"], "symlink");
    assert_eq!(by_path("loop")["link_target"], "loop");
    assert_eq!(by_path("docs/self")["kind"], "symlink");
    assert_eq!(
        by_path("escape")["link_target"],
        outside.join("secret.txt").to_str().unwrap()
    );
    assert!(
        !items
            .iter()
            .any(|i| i["path"].as_str().unwrap().contains("secret")),
        "a link was followed out of the source"
    );
    assert!(
        !items
            .iter()
            .any(|i| i["path"].as_str().unwrap().starts_with("docs/self/")),
        "a link loop was followed"
    );

    let latin = items
        .iter()
        .find(|i| i["path_hex"] == spoor::evidence::digest::to_hex(b"caf\xe9-\xff.bin"))
        .expect("non-UTF-8 name kept byte-exact");
    assert_eq!(
        latin["sha256"],
        coreutils_digest(
            "sha256sum",
            &evidence.join(std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.bin"))
        )
    );
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "evil\x1b]0;pwned\x07\x1b[31m.txt"),
        "escape name kept exact in the export"
    );

    let deep_item = by_path(std::str::from_utf8(&deep).unwrap());
    assert_eq!(
        deep_item["sha256"],
        spoor::evidence::digest::sha256_bytes(b"found at the bottom").to_hex()
    );

    // The lying extension is an observation and a lead.
    let obs = export(&case, "observations");
    assert!(obs.iter().any(|o| o["path"] == "photo.txt"
        && o["kind"] == "type.extension_mismatch"
        && o["value"]["detected_extension"] == "png"));
    assert!(export(&case, "errors").is_empty());

    // Verify reads the same tree back and finds it unchanged.
    let v = run(&["verify", case.to_str().unwrap()]);
    expect_code(&v, 0, "verify of an unchanged tree");
}

#[test]
fn sparse_4_gib_file_is_hashed_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    std::fs::create_dir_all(&evidence).unwrap();
    let big = evidence.join("sparse.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let case = tmp.path().join("case");
    let o = scan(&evidence, &case, "Tester", &["--quiet"]);
    expect_code(&o, 0, "scan");
    let items = export(&case, "items");
    assert_eq!(items[0]["size"], 4u64 << 30);
    assert_eq!(items[0]["sha256"], coreutils_digest("sha256sum", &big));
    assert_eq!(items[0]["md5"], coreutils_digest("md5sum", &big));
}

#[test]
fn a_file_deleted_during_the_scan_is_an_error_record_and_the_rest_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(&evidence.join("keep.txt"), b"kept");
    write(&evidence.join("vanish.txt"), b"gone before it is read");
    let plan = ScanPlan::resolve(&request(&evidence, &tmp.path().join("case"))).unwrap();
    let delete = |root: &Path, rel: &[u8]| {
        if rel == b"vanish.txt" {
            std::fs::remove_file(root.join("vanish.txt")).unwrap();
        }
    };
    let summary = scan_with(
        &plan,
        ScanHooks {
            before_open: Some(&delete),
            ..Default::default()
        },
    );
    assert_eq!(summary.errors, 1);
    let errors = export(&tmp.path().join("case"), "errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], "vanish.txt");
    assert_eq!(errors[0]["stage"], "read");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("No such file"),
        "{}",
        errors[0]
    );
    let items = export(&tmp.path().join("case"), "items");
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "vanish.txt" && i["sha256"].is_null()),
        "the vanished file is still an item"
    );
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "keep.txt" && !i["sha256"].is_null())
    );
}

struct Bomb;
impl Analyzer for Bomb {
    fn name(&self) -> &'static str {
        "bomb"
    }
    fn version(&self) -> &'static str {
        "0"
    }
    fn error_margin(&self) -> &'static str {
        "test analyzer"
    }
    fn accepts(&self, _: &ItemView) -> bool {
        true
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        if item.entry.rel_path.ends_with(b"boom.bin") {
            panic!("decoder exploded on hostile bytes");
        }
        Ok(Vec::new())
    }
}

#[test]
fn a_panicking_analyzer_costs_one_error_record_not_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(
        &evidence.join("boom.bin"),
        b"\x00\x01 hostile, not an image",
    );
    write(&evidence.join("fine.txt"), b"fine");
    let plan = ScanPlan::resolve(&request(&evidence, &tmp.path().join("case"))).unwrap();
    let summary = scan_with(
        &plan,
        ScanHooks {
            extra_analyzers: vec![Box::new(Bomb)],
            ..Default::default()
        },
    );
    assert_eq!(summary.errors, 1);
    let errors = export(&tmp.path().join("case"), "errors");
    assert_eq!(
        (errors[0]["path"].as_str(), errors[0]["stage"].as_str()),
        (Some("boom.bin"), Some("bomb"))
    );
    // The item itself, with its digests, is kept.
    let items = export(&tmp.path().join("case"), "items");
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "boom.bin" && !i["sha256"].is_null())
    );
}

#[test]
fn an_item_in_flight_at_two_crashes_is_skipped_with_an_error_not_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(&evidence.join("poison.bin"), b"kills the reader");
    write(&evidence.join("ok.txt"), b"ok");
    let case = tmp.path().join("case");
    let plan = ScanPlan::resolve(&request(&evidence, &case)).unwrap();
    let journal = case.join("scan.journal");
    let line = format!("B 1 {}\n", spoor::evidence::digest::to_hex(b"poison.bin"));
    // Two runs that died with poison.bin in flight (simulated: the journal they leave, and a
    // run that stops at once so nothing is read).
    for _ in 0..2 {
        std::fs::write(&journal, &line).unwrap();
        let s = engine::run_scan(&plan, &Progress::default(), &AtomicBool::new(true)).unwrap();
        assert!(s.interrupted);
        assert_eq!(s.crash_suspects.len(), 1, "{:?}", s.crash_suspects);
    }
    let opened = std::sync::Mutex::new(Vec::new());
    let record = |_: &Path, rel: &[u8]| opened.lock().unwrap().push(rel.to_vec());
    let s = scan_with(
        &plan,
        ScanHooks {
            before_open: Some(&record),
            ..Default::default()
        },
    );
    assert!(!s.interrupted);
    assert_eq!(
        opened.into_inner().unwrap(),
        vec![b"ok.txt".to_vec()],
        "the poison file was opened again"
    );
    let errors = export(&case, "errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], "poison.bin");
    assert_eq!(errors[0]["stage"], "resume");
}

#[test]
fn an_unreadable_file_is_an_error_record() {
    // Root reads everything: then the scan runs as `nobody` through setpriv (util-linux).
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(&evidence.join("locked.txt"), b"no access");
    write(&evidence.join("open.txt"), b"readable");
    let case = tmp.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [tmp.path(), evidence.as_path(), case.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::set_permissions(
        evidence.join("open.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        evidence.join("locked.txt"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let args = [
        "scan",
        evidence.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        "--examiner",
        "Tester",
        "--quiet",
    ];
    let running_as_root =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(evidence.join("open.txt")).unwrap())
            == 0;
    let o = if running_as_root {
        if std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!(
                "SKIPPED: running as root and setpriv is missing, so no unreadable file can be made"
            );
            return;
        }
        // The checkout may sit under a directory `nobody` cannot enter (/root): run a copy.
        let binary = tmp.path().join("spoor");
        std::fs::copy(env!("CARGO_BIN_EXE_spoor"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            binary.to_str().unwrap(),
        ])
        .args(args);
        c.output().unwrap()
    } else {
        run(&args)
    };
    expect_code(&o, 2, "scan with an unreadable file");
    assert!(stderr(&o).contains("1 item error"), "{}", stderr(&o));
    let errors = export(&case, "errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], "locked.txt");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{}",
        errors[0]
    );
}

#[test]
fn small_files_read_in_groups_get_the_digests_coreutils_gives() {
    // Sizes around the MD5 block and padding edges, the lane buffer's edge (256 KiB) and
    // beyond it, more files than one group of lanes, in one directory (one batch).
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let sizes = [
        0usize, 1, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 10_000, 65_536, 262_143, 262_144,
        262_145, 300_000, 2, 3, 17, 999, 1_000_001,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes: Vec<u8> = (0..size).map(|k| ((k * 131 + i * 7) % 251) as u8).collect();
        write(&evidence.join(format!("f{i:02}.bin")), &bytes);
    }
    scan_and_check_digests(&evidence, &tmp.path().join("case"), sizes.len());
}

/// Scans `evidence` into `case` without errors and checks that each of its `files` files has
/// the MD5, SHA-1 and SHA-256 that coreutils gives.
fn scan_and_check_digests(evidence: &Path, case: &Path, files: usize) {
    let summary = scan_with(
        &ScanPlan::resolve(&request(evidence, case)).unwrap(),
        ScanHooks::default(),
    );
    assert_eq!(summary.errors, 0);
    let items = export(case, "items");
    let listed: Vec<_> = items.iter().filter(|r| r["kind"] == "file").collect();
    assert_eq!(listed.len(), files);
    for item in listed {
        let path = evidence.join(item["path"].as_str().unwrap());
        for tool in ["md5", "sha1", "sha256"] {
            assert_eq!(
                item[tool],
                coreutils_digest(&format!("{tool}sum"), &path),
                "{tool} of {} ({} bytes)",
                path.display(),
                item["size"]
            );
        }
    }
}

#[test]
fn large_files_streamed_side_by_side_get_coreutils_digests_and_their_pictures_are_decoded() {
    // Fifteen files of 256 KiB and more in two directories meet in one side-by-side group
    // (eight lanes, refilled as files end): eight JPEGs whose content is kept for decoding,
    // and binaries around the block and buffer edges.
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let pictures = [
        "bridge-1-original.jpg",
        "bridge-2-rotate-90.jpg",
        "bridge-3-rotate-180.jpg",
        "bridge-4-rotate-270.jpg",
        "bridge-5-flipx.jpg",
        "bridge-6-flipy.jpg",
        "bridge-7-flip-plus-1.jpg",
        "bridge-8-flip-minus-1.jpg",
    ];
    std::fs::create_dir_all(evidence.join("pictures")).unwrap();
    for f in pictures {
        std::fs::copy(data(&format!("pdq/{f}")), evidence.join("pictures").join(f)).unwrap();
    }
    let sizes = [
        262_144usize,
        262_145,
        300_001,
        524_288,
        1_000_003,
        2_500_000,
        9_000_000,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes: Vec<u8> = (0..size).map(|k| ((k * 131 + i * 7) % 251) as u8).collect();
        write(&evidence.join(format!("binaries/b{i}.bin")), &bytes);
    }
    write(
        &evidence.join("binaries/small.txt"),
        b"a small file beside them",
    );
    let case = tmp.path().join("case");
    scan_and_check_digests(&evidence, &case, pictures.len() + sizes.len() + 1);
    // Each picture was decoded from the content kept in the group, to the PDQ hash a scan
    // of that picture alone (one stream, no lanes) gives.
    let alone = tmp.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(
        data("pdq/bridge-1-original.jpg"),
        alone.join("bridge-1-original.jpg"),
    )
    .unwrap();
    let alone_case = tmp.path().join("alone-case");
    scan_with(
        &ScanPlan::resolve(&request(&alone, &alone_case)).unwrap(),
        ScanHooks::default(),
    );
    let pdq_of = |obs: &[serde_json::Value], path: &str| {
        obs.iter()
            .find(|o| o["path"] == path && o["kind"] == "image.pdq")
            .unwrap_or_else(|| panic!("no PDQ hash for {path}"))["value"]
            .clone()
    };
    let obs = export(&case, "observations");
    for f in pictures {
        pdq_of(&obs, &format!("pictures/{f}"));
    }
    assert_eq!(
        pdq_of(&obs, "pictures/bridge-1-original.jpg"),
        pdq_of(
            &export(&alone_case, "observations"),
            "bridge-1-original.jpg"
        )
    );
}

#[test]
fn a_small_file_that_grows_past_its_buffer_is_read_again_whole_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    write(&evidence.join("grows.log"), b"ten bytes!");
    write(&evidence.join("steady.txt"), b"unchanged");
    let plan = ScanPlan::resolve(&request(&evidence, &tmp.path().join("case"))).unwrap();
    let grown = std::sync::atomic::AtomicBool::new(false);
    let grow = |root: &Path, rel: &[u8]| {
        if rel == b"grows.log" && !grown.swap(true, std::sync::atomic::Ordering::SeqCst) {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(root.join("grows.log"))
                .unwrap();
            f.write_all(&vec![b'x'; 400_000]).unwrap();
        }
    };
    let summary = scan_with(
        &plan,
        ScanHooks {
            before_open: Some(&grow),
            ..Default::default()
        },
    );
    assert_eq!(summary.errors, 1);
    let errors = export(&tmp.path().join("case"), "errors");
    assert_eq!(errors[0]["path"], "grows.log");
    assert_eq!(
        errors[0]["reason"],
        "size changed during the scan: listed 10 bytes, read 400010"
    );
    let items = export(&tmp.path().join("case"), "items");
    let grows = items.iter().find(|r| r["path"] == "grows.log").unwrap();
    assert_eq!(
        grows["md5"],
        coreutils_digest("md5sum", &evidence.join("grows.log"))
    );
}
