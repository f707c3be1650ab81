//! Import of every hash-set format from real fixtures, and matching end to end.

mod common;

use std::collections::BTreeSet;

use common::*;
use spoor::hashsets::{self, Format, HashSetSpec, SetStatus};

fn load(name: &str) -> hashsets::LoadedHashSet {
    let spec = HashSetSpec {
        path: data(&format!("hashsets/{name}")),
        status: SetStatus::KnownGood,
        category: None,
    };
    hashsets::load(&spec).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Data rows of a CSV-like file, counted independently of the parser: non-empty lines after the header.
fn data_rows(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count() - 1
}

#[test]
fn nsrl_rds_v2_and_v1_5_import_every_row_with_the_same_digests() {
    let v2 = load("NSRL-2.0.txt");
    let v15 = load("NSRL-1.5.txt");
    assert_eq!(v2.parsed.format, Format::NsrlRds);
    assert_eq!(v15.parsed.format, Format::NsrlRds);
    let rows = data_rows(&std::fs::read_to_string(data("hashsets/NSRL-2.0.txt")).unwrap());
    assert_eq!(rows, 218);
    assert_eq!(v2.parsed.entries.len(), rows);
    assert!(v2.parsed.problems.is_empty(), "{:?}", v2.parsed.problems);
    assert_eq!(v15.parsed.entries.len(), rows);
    let first = &v2.parsed.entries[0];
    assert_eq!(
        first.sha1.unwrap().to_hex(),
        "00d1034546f530d746131ce2a28a052db21652ec"
    );
    assert_eq!(
        first.md5.unwrap().to_hex(),
        "2193697c470774ea58da24b3bac5fcde"
    );
    assert_eq!(first.size, Some(503));
    assert_eq!(first.name.as_deref(), Some("INFODESK.IC$"));
    let pairs = |s: &hashsets::LoadedHashSet| {
        s.parsed
            .entries
            .iter()
            .map(|e| (e.sha1, e.md5, e.name.clone()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(pairs(&v2), pairs(&v15));
}

#[test]
fn nsrl_rds_zip_is_read_from_its_nsrlfile_member() {
    let z = load("RDS-000001-20.zip");
    assert_eq!(z.parsed.format, Format::NsrlRdsZip);
    assert_eq!(z.parsed.entries.len(), 218);
}

#[test]
fn hashkeeper_set_inside_its_zip() {
    let set = load("Z00236.zip");
    assert_eq!(set.parsed.format, Format::HashKeeper);
    // Independent count: rows of the member with a 32-hex `hash` field.
    let file = std::fs::File::open(data("hashsets/Z00236.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("Z00236.hsh").unwrap(), &mut text).unwrap();
    let expected = text
        .lines()
        .skip(1)
        .filter(|l| {
            l.split(',')
                .nth(4)
                .is_some_and(|h| h.trim_matches('"').len() == 32)
        })
        .count();
    assert!(expected > 6000, "{expected}");
    assert_eq!(set.parsed.entries.len(), expected);
    assert_eq!(
        set.parsed.entries.len() + set.parsed.problems.len(),
        data_rows(&text)
    );
    assert_eq!(
        set.parsed.entries[0].md5.unwrap().to_hex(),
        "9497acf3cf8a2e90ae82dae37b6373e4"
    );
    assert_eq!(set.parsed.entries[0].name.as_deref(), Some("acsetups.pdb"));
}

#[test]
fn ilook_v3_and_v4() {
    for name in ["ilookv3.hsh", "ilookv4.hsh"] {
        let set = load(name);
        assert_eq!(set.parsed.format, Format::ILook, "{name}");
        assert_eq!(set.parsed.entries.len(), 5, "{name}");
        let e = &set.parsed.entries[0];
        assert_eq!(e.md5.unwrap().to_hex(), "b5e254df3bb37efcdfd883d69897770a");
        assert_eq!(
            e.sha1.unwrap().to_hex(),
            "2cc793143bbe3bb8a2b9949b53583606885241e1"
        );
        assert_eq!(e.size, Some(10429));
    }
}

#[test]
fn md5deep_hashdeep_and_bsd_outputs() {
    let hd = load("hashdeep.txt");
    assert_eq!(hd.parsed.format, Format::Hashdeep);
    assert_eq!(hd.parsed.entries.len(), 3);
    assert_eq!(hd.parsed.entries[0].size, Some(622));
    assert_eq!(
        hd.parsed.entries[0].sha256.unwrap().to_hex(),
        "2f1cf7a397bb8eed63b225d5d4fd5e2fc71788c8ae12db94147d1f5e227a4118"
    );
    let md = load("md5deep.txt");
    assert_eq!(md.parsed.format, Format::Md5deep);
    assert_eq!(md.parsed.entries.len(), 4);
    let sized = load("md5deep-size.txt");
    assert_eq!(sized.parsed.entries.len(), 4);
    assert_eq!(sized.parsed.entries[0].size, Some(669_416));
    assert_eq!(
        sized.parsed.entries[0].name.as_deref(),
        Some("/Users/jessek/a.out")
    );
    let bsd = load("bsd-hashes.txt");
    assert_eq!(bsd.parsed.format, Format::Bsd);
    assert_eq!(bsd.parsed.entries.len(), 5);
}

#[test]
fn malformed_lines_are_counted_with_line_numbers_and_the_rest_imported() {
    let set = load("known.txt");
    assert_eq!(set.parsed.entries.len(), 1);
    assert_eq!(set.parsed.problems.len(), 1);
    assert_eq!(set.parsed.problems[0].location, "line 2");
    assert!(set.parsed.problems[0].reason.contains("hello world!"));
}

#[test]
fn vics_2_0_and_1_3_media_records() {
    let v2 = load("vics-2.0.json");
    assert_eq!(v2.parsed.format, Format::VicsJson);
    assert_eq!(v2.parsed.entries.len(), 2);
    assert_eq!(v2.parsed.entries[0].category.as_deref(), Some("CAT-1"));
    assert_eq!(v2.parsed.entries[1].category.as_deref(), Some("CAT-3"));
    let locations: Vec<&str> = v2
        .parsed
        .problems
        .iter()
        .map(|p| p.location.as_str())
        .collect();
    assert_eq!(locations, vec!["value[0].Media[2]", "value[0].Media[3]"]);
    let v13 = load("vics-1.3.json");
    assert_eq!(v13.parsed.entries.len(), 2);
    assert_eq!(
        v13.parsed.entries[0].sha1.unwrap().to_hex(),
        "356a192b7913b04c54574d18c28d46e6395428ab"
    );
    assert_eq!(v13.parsed.entries[0].category.as_deref(), Some("CAT-5"));
}

#[test]
fn a_file_of_no_known_format_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("words.txt");
    std::fs::write(&p, "just\nsome words\n").unwrap();
    let err = hashsets::load(&HashSetSpec {
        path: p,
        status: SetStatus::KnownBad,
        category: None,
    })
    .unwrap_err();
    assert!(err.contains("no hash set format recognised"), "{err}");
}

#[test]
fn scan_matches_known_bad_and_known_good_files_and_never_drops_the_good_ones() {
    let case = tempfile::tempdir().unwrap();
    let case_dir = case.path().join("case");
    let o = run(&[
        "scan",
        data("hashsets/testfiles").to_str().unwrap(),
        "--case",
        case_dir.to_str().unwrap(),
        "--examiner",
        "Tester",
        "--hashset",
        &format!("{}:bad:CAT-X", data("hashsets/bsd-hashes.txt").display()),
        "--hashset",
        &format!("{}:good", data("hashsets/nsrlfile.txt").display()),
        "--hashset",
        &format!("{}:bad", data("hashsets/vics-2.0.json").display()),
    ]);
    expect_code(&o, 0, "scan");
    assert_eq!(
        stderr(&o),
        "",
        "no progress drawing when stderr is not a terminal"
    );
    assert!(
        stdout(&o).contains("vics-2.0.json: value[0].Media[2]"),
        "malformed records are reported:\n{}",
        stdout(&o)
    );
    let obs = export(&case_dir, "observations");
    let matches = |path: &str| -> Vec<(String, String, Option<String>)> {
        obs.iter()
            .filter(|o| o["path"] == path && o["kind"] == "hashset.match")
            .map(|o| {
                (
                    o["value"]["set"].as_str().unwrap().to_string(),
                    o["value"]["status"].as_str().unwrap().to_string(),
                    o["value"]["category"].as_str().map(str::to_string),
                )
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    assert_eq!(
        matches("zero-byte-file.txt"),
        vec![("nsrlfile.txt".into(), "good".into(), None)]
    );
    assert_eq!(
        matches("copying.txt"),
        vec![
            ("bsd-hashes.txt".into(), "bad".into(), Some("CAT-X".into())),
            ("vics-2.0.json".into(), "bad".into(), Some("CAT-1".into()))
        ]
    );
    assert_eq!(
        matches("one-byte-file.txt"),
        vec![("bsd-hashes.txt".into(), "bad".into(), Some("CAT-X".into()))]
    );
    // The known-good empty file is kept as an item, marked by its observation, and raises no lead.
    let items = export(&case_dir, "items");
    assert!(items.iter().any(
        |i| i["path"] == "zero-byte-file.txt" && i["md5"] == "d41d8cd98f00b204e9800998ecf8427e"
    ));
    let known = |p: &str| items.iter().find(|i| i["path"] == p).unwrap()["known"].clone();
    assert_eq!(
        known("zero-byte-file.txt"),
        "good",
        "known-good files are marked ignorable"
    );
    assert_eq!(known("copying.txt"), "bad");
    let leads = export(&case_dir, "leads");
    let lead_paths: BTreeSet<&str> = leads.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(
        lead_paths,
        BTreeSet::from([
            "copying.txt",
            "deadbeef.txt",
            "foo.txt",
            "install.txt",
            "one-byte-file.txt"
        ])
    );
}

#[test]
fn a_hash_set_added_in_a_later_run_applies_to_items_already_in_the_case() {
    let case = tempfile::tempdir().unwrap();
    let case_dir = case.path().join("case");
    let evidence = data("hashsets/testfiles");
    let base = [
        "scan",
        evidence.to_str().unwrap(),
        "--case",
        case_dir.to_str().unwrap(),
        "--examiner",
        "Tester",
        "--quiet",
    ];
    expect_code(&run(&base), 0, "first scan, no hash set");
    assert!(export(&case_dir, "leads").is_empty());
    let set = format!("{}:bad", data("hashsets/bsd-hashes.txt").display());
    let mut again = base.to_vec();
    again.extend(["--hashset", &set]);
    expect_code(&run(&again), 0, "second scan with a hash set");
    assert_eq!(
        export(&case_dir, "leads").len(),
        5,
        "the set was not applied to the stored items"
    );
    // Running it once more adds nothing: observations are not duplicated.
    let before = export(&case_dir, "observations").len();
    expect_code(&run(&again), 0, "third scan");
    assert_eq!(export(&case_dir, "observations").len(), before);
}
