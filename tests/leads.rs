//! Leads an investigator can trust (issue 14): lists of interest, the review workflow
//! (four eyes, bulk decisions, per-rule statistics, refusals that write nothing), and the
//! reports that export for action only what a named reviewer confirmed: JSON, KML, CASE/UCO
//! (validated by `case_validate` from PyPI case-utils), the processing record, pseudonyms.

mod common;

use std::path::Path;

use common::{data, expect_code, export, run, scan, stderr, stdout, write};
use serde_json::Value;

/// A case with a real photo (GPS in its EXIF) at a place of interest, a chat in which a
/// watch-listed IBAN is sent, and a known-bad file.
fn interest_case(dir: &Path) -> std::path::PathBuf {
    let evidence = dir.join("phone");
    std::fs::create_dir_all(evidence.join("DCIM")).unwrap();
    std::fs::copy(
        data("exif/DSCN0010.jpg"),
        evidence.join("DCIM/DSCN0010.jpg"),
    )
    .unwrap();
    write(
        &evidence.join("WhatsApp/WhatsApp Chat with Kees.txt"),
        b"02/03/2024, 08:10 - Bram: Pay to NL91 ABNA 0417 1643 00 today\n02/03/2024, 08:12 - Kees: ok\n",
    );
    // A call from a watch-listed number: matched as the party, not in any text.
    write(
        &evidence.join("Backups/calls-20240306.xml"),
        b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<calls count=\"1\">\n  <call number=\"+31644444444\" duration=\"40\" date=\"1709719800000\" type=\"1\" presentation=\"1\" />\n</calls>\n",
    );
    write(&evidence.join("bad.bin"), b"known bad content\n");
    let md5 = common::coreutils_digest("md5sum", &evidence.join("bad.bin"));
    write(&dir.join("bad.txt"), format!("{md5}  bad.bin\n").as_bytes());
    // The photo's position as exiftool prints it: 43.467448, 11.885127.
    write(
        &dir.join("places.csv"),
        b"name,latitude,longitude,radius_m\nPiazza Grande,43.4675,11.8851,150\nElsewhere,52.0,4.0,500\n",
    );
    write(
        &dir.join("watch.txt"),
        b"# case 7\nNL91 ABNA 0417 1643 00\tpayments to the cell\n06 4444 4444\tthe courier\n",
    );
    let case = dir.join("case");
    let o = scan(
        &evidence,
        &case,
        "Tester",
        &[
            "--label",
            "phone",
            "--hashset",
            dir.join("bad.txt").to_str().unwrap(),
            "--places-of-interest",
            dir.join("places.csv").to_str().unwrap(),
            "--watchlist",
            dir.join("watch.txt").to_str().unwrap(),
            "--region",
            "NL",
        ],
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(2),
        "scan: {}",
        stderr(&o)
    );
    case
}

fn lead_with_rule(case: &Path, rule: &str) -> Value {
    export(case, "leads")
        .into_iter()
        .find(|l| l["rules"].as_array().unwrap().iter().any(|r| r == rule))
        .unwrap_or_else(|| panic!("no lead of {rule}"))
}

fn audit_len(case: &Path) -> usize {
    stdout(&run(&["audit", "log", case.to_str().unwrap()]))
        .lines()
        .count()
}

#[test]
fn lists_of_interest_become_explained_leads() {
    let tmp = tempfile::tempdir().unwrap();
    let case = interest_case(tmp.path());
    let c = case.to_str().unwrap();
    let place = lead_with_rule(&case, "place-of-interest");
    assert_eq!(place["path"], "DCIM/DSCN0010.jpg");
    let obs = &place["hits"]["hits"][0]["observations"][0];
    assert_eq!(obs["value"]["place"], "Piazza Grande");
    assert!(obs["value"]["distance_m"].as_f64().unwrap() < 20.0, "{obs}");
    let leads = export(&case, "leads");
    let of_path = |part: &str| {
        leads
            .iter()
            .find(|l| l["path"].as_str().unwrap().contains(part))
            .unwrap_or_else(|| panic!("no lead on {part}"))
            .clone()
    };
    let iban = of_path("WhatsApp Chat with Kees");
    assert_eq!(iban["rules"], serde_json::json!(["watchlist-entity"]));
    // The listed number is no text of the call log: it is the call's party.
    let call = of_path("calls-20240306.xml");
    let value = &call["hits"]["hits"][0]["observations"][0]["value"];
    assert_eq!(call["rules"], serde_json::json!(["watchlist-entity"]));
    assert_eq!(
        (
            value["value"].as_str(),
            value["found_as"].as_str(),
            value["note"].as_str()
        ),
        (Some("+31644444444"), Some("party"), Some("the courier"))
    );
    // An incoming call: the listed number is its caller.
    assert_eq!(value["occurrences"][0]["role"], "from");
    assert!(
        iban["path"]
            .as_str()
            .unwrap()
            .contains("WhatsApp Chat with Kees")
    );
    let text = stdout(&run(&["leads", "explain", c, iban["id"].as_str().unwrap()]));
    // In words, with the list's note and where it occurs; no JSON.
    assert!(
        text.contains("the iban NL91ABNA0417164300 on the watch list (\"payments to the cell\")")
            && text.contains("deterministic")
            && !text.contains("{\""),
        "{text}"
    );
    // A bad list stops the scan before anything is read, naming the line.
    write(
        &tmp.path().join("w2.txt"),
        b"NL91 ABNA 0417 1643 00\nnot an iban\n",
    );
    let o = scan(
        &tmp.path().join("phone"),
        &tmp.path().join("case2"),
        "Tester",
        &["--watchlist", tmp.path().join("w2.txt").to_str().unwrap()],
    );
    expect_code(&o, 1, "bad watch list");
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert!(
        !tmp.path().join("case2").exists(),
        "no case is left for a refused scan"
    );
    // Objects of interest need a detector.
    let o = scan(
        &tmp.path().join("phone"),
        &tmp.path().join("case3"),
        "T",
        &["--objects-of-interest", "knife"],
    );
    expect_code(&o, 1, "objects without a detector");
    assert!(
        stderr(&o).contains("needs an object detector"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn review_workflow_four_eyes_bulk_and_stats() {
    let tmp = tempfile::tempdir().unwrap();
    let case = interest_case(tmp.path());
    let c = case.to_str().unwrap();
    let bad = lead_with_rule(&case, "hashset-known-bad");
    let bad_id = bad["id"].as_str().unwrap();

    // Refusals write nothing.
    let before = audit_len(&case);
    let o = run(&[
        "review", c, "Lnothere", "confirm", "--by", "A", "--reason", "r",
    ]);
    expect_code(&o, 1, "unknown lead");
    assert!(stderr(&o).contains("no lead"), "{}", stderr(&o));
    let o = run(&[
        "review", c, bad_id, "confirm", "--by", "A", "--reason", "  ",
    ]);
    expect_code(&o, 1, "empty reason");
    let o = run(&["review", c, "reject", "--by", "A", "--reason", "all"]);
    expect_code(&o, 1, "bulk without a filter");
    let o = run(&[
        "review",
        c,
        "--rule",
        "no-such-rule",
        "reject",
        "--by",
        "A",
        "--reason",
        "x",
    ]);
    expect_code(&o, 1, "bulk with an unknown rule");
    assert!(
        stderr(&o).contains("no rule \"no-such-rule\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(audit_len(&case), before, "a refused review writes nothing");

    // A rules file marking the known-bad rule four-eyes: one confirmation is not a finding.
    let rules = tmp.path().join("rules.toml");
    let text = stdout(&run(&["rules", "show"]));
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("# origin") && !l.starts_with("# sha256"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.replacen("weight = 100.0\n", "weight = 100.0\nfour_eyes = true\n", 1);
    std::fs::write(&rules, text).unwrap();
    let o = scan(
        &tmp.path().join("phone"),
        &case,
        "Tester",
        &[
            "--label",
            "phone",
            "--hashset",
            tmp.path().join("bad.txt").to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(2),
        "rescan: {}",
        stderr(&o)
    );
    expect_code(
        &run(&[
            "review", c, bad_id, "confirm", "--by", "A. First", "--reason", "listed",
        ]),
        0,
        "first",
    );
    let o = run(&[
        "review", c, bad_id, "confirm", "--by", "A. First", "--reason", "again",
    ]);
    expect_code(&o, 1, "same reviewer twice on four eyes");
    assert!(
        stderr(&o).contains("two distinct reviewers"),
        "{}",
        stderr(&o)
    );
    let report = |extra: &[&str]| -> Value {
        let out = tmp.path().join("r.json");
        let mut args = vec![
            "report",
            c,
            "--format",
            "json",
            "--by",
            "R",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        expect_code(&run(&args), 0, "report");
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    let r = report(&[]);
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        0,
        "one pair of eyes is not a finding"
    );
    let waiting = r["awaiting_review"].as_array().unwrap();
    assert!(
        waiting
            .iter()
            .any(|l| l["id"] == bad_id && l["confirmed_by"] == serde_json::json!(["A. First"]))
    );
    expect_code(
        &run(&[
            "review",
            c,
            bad_id,
            "confirm",
            "--by",
            "B. Second",
            "--reason",
            "agree",
        ]),
        0,
        "second",
    );
    let r = report(&[]);
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["id"], bad_id);
    assert_eq!(findings[0]["item"]["sha256"].as_str().unwrap().len(), 64);

    // Bulk: every proposed lead of a rule, in one go, each decision in the audit chain with
    // the query.
    let proposed_before = export(&case, "leads")
        .iter()
        .filter(|l| l["state"] == "proposed")
        .count();
    let o = run(&[
        "review",
        c,
        "--state",
        "proposed",
        "needs-info",
        "--by",
        "C",
        "--reason",
        "ask the owner",
    ]);
    expect_code(&o, 0, "bulk");
    assert!(
        stdout(&o).contains(&format!(
            "{proposed_before} of {proposed_before} selected leads now needs-info"
        )),
        "{}",
        stdout(&o)
    );
    let log = stdout(&run(&["audit", "log", c]));
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("bulk_query\\\":{"))
            .count(),
        proposed_before
    );
    assert!(
        export(&case, "leads")
            .iter()
            .all(|l| l["state"] != "proposed")
    );

    // Per-rule statistics from the decisions.
    expect_code(
        &run(&[
            "review",
            c,
            "--rule",
            "place-of-interest",
            "reject",
            "--by",
            "C",
            "--reason",
            "tourist photo",
        ]),
        0,
        "bulk reject",
    );
    let stats: Vec<Value> = stdout(&run(&["rules", "stats", c, "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |rule: &str| stats.iter().find(|s| s["rule"] == rule).unwrap().clone();
    assert_eq!(of("hashset-known-bad")["precision"], 1.0);
    assert_eq!(of("hashset-known-bad")["confirmed"], 1);
    assert_eq!(of("place-of-interest")["precision"], 0.0);
    assert_eq!(
        of("watchlist-entity")["needs_info"],
        2,
        "the IBAN text and the call"
    );
    assert!(of("watchlist-entity")["precision"].is_null());
}

/// `case_validate` from PyPI case-utils, installed by scripts/test.sh; required under CI.
fn case_validate() -> Option<String> {
    let path = std::env::var("SPOOR_CASE_VALIDATE")
        .ok()
        .filter(|p| Path::new(p).exists());
    if path.is_none() && std::env::var_os("CI").is_some() {
        panic!(
            "case_validate is missing under CI: scripts/test.sh installs it and sets SPOOR_CASE_VALIDATE"
        );
    }
    path
}

fn validates(file: &Path) {
    let Some(tool) = case_validate() else {
        eprintln!("SKIPPED: case_validate is not installed (scripts/test.sh installs it)");
        return;
    };
    let o = std::process::Command::new(&tool)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success() && stdout(&o).contains("Conforms: True"),
        "case_validate {}:\n{}\n{}",
        file.display(),
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn reports_export_for_action_only_findings_and_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let case = interest_case(tmp.path());
    let c = case.to_str().unwrap();
    let out = |name: &str| tmp.path().join(name);
    let report = |format: &str, file: &str, extra: &[&str]| {
        let path = out(file);
        let mut args = vec![
            "report",
            c,
            "--format",
            format,
            "--by",
            "R",
            "--out",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        expect_code(&o, 0, format);
        std::fs::read_to_string(path).unwrap()
    };
    // Nothing confirmed: KML and CASE/UCO hold no finding.
    let kml = report("kml", "a.kml", &[]);
    assert!(
        !kml.contains("<Placemark>") && kml.contains("No confirmed finding"),
        "{kml}"
    );
    let uco = report("case-uco", "a.jsonld", &[]);
    assert!(!uco.contains("uco-core:Annotation"));
    validates(&out("a.jsonld"));

    let place = lead_with_rule(&case, "place-of-interest");
    let id = place["id"].as_str().unwrap();
    expect_code(
        &run(&[
            "review",
            c,
            id,
            "confirm",
            "--by",
            "B. Reviewer",
            "--reason",
            "the square",
        ]),
        0,
        "confirm",
    );
    let kml = report("kml", "b.kml", &[]);
    assert_eq!(kml.matches("<Placemark>").count(), 1, "{kml}");
    assert!(
        kml.contains("<coordinates>11.88512666666") && kml.contains(",43.4674483"),
        "{kml}"
    );
    assert!(kml.contains("confirm by B. Reviewer"), "{kml}");
    let uco = report("case-uco", "b.jsonld", &[]);
    let graph: Value = serde_json::from_str(&uco).unwrap();
    let types: Vec<&str> = graph["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["@type"].as_str())
        .collect();
    for t in [
        "uco-tool:Tool",
        "uco-observable:File",
        "uco-types:Hash",
        "uco-location:Location",
        "uco-core:Annotation",
        "case-investigation:InvestigativeAction",
        "case-investigation:ProvenanceRecord",
        "case-investigation:Investigation",
        "uco-identity:Person",
    ] {
        assert!(types.contains(&t), "{t} missing: {types:?}");
    }
    // Only the finding's file: the known-bad file awaits review and is not in it.
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "uco-core:Annotation")
            .count(),
        1
    );
    assert!(uco.contains("DSCN0010.jpg") && !uco.contains("bad.bin"));
    validates(&out("b.jsonld"));

    // The processing record names the analyzers, the lists and who decided what.
    let record: Value = serde_json::from_str(&report("processing-record", "p.json", &[])).unwrap();
    let analyzers: Vec<&str> = record["analyzers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["analyzer"].as_str().unwrap())
        .collect();
    assert!(
        analyzers.contains(&"places-of-interest")
            && analyzers.contains(&"watchlist")
            && analyzers.contains(&"exif"),
        "{analyzers:?}"
    );
    let lists: Vec<&str> = record["lists_of_interest"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["list"].as_str())
        .collect();
    assert!(
        lists.iter().any(|l| l.ends_with("places.csv"))
            && lists.iter().any(|l| l.ends_with("watch.txt")),
        "{lists:?}"
    );
    assert_eq!(record["decisions"][0]["reviewer"], "B. Reviewer");
    assert_eq!(record["rules"]["sha256"].as_str().unwrap().len(), 64);

    // Pseudonymized: the chat's names and the IBAN are gone, the same key gives the same
    // pseudonyms, a short key is refused.
    write(&out("key"), b"0123456789abcdef0123456789abcdef");
    let plain = report("json", "plain.json", &[]);
    assert!(plain.contains("NL91ABNA0417164300") && plain.contains("Kees"));
    let hidden = report(
        "json",
        "p1.json",
        &["--pseudonymize", out("key").to_str().unwrap()],
    );
    assert!(
        !hidden.contains("NL91ABNA0417164300") && !hidden.contains("Bram"),
        "pseudonymized report still names people"
    );
    assert!(hidden.contains("\"p-"), "pseudonyms in the report");
    let again = report(
        "json",
        "p2.json",
        &["--pseudonymize", out("key").to_str().unwrap()],
    );
    let pseudonyms = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .match_indices("p-")
            .map(|(i, _)| s[i..i + 18].to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(pseudonyms(&hidden), pseudonyms(&again));
    let html = report(
        "html",
        "p.html",
        &["--pseudonymize", out("key").to_str().unwrap()],
    );
    assert!(
        html.contains("Pseudonymized") && !html.contains("data:image/jpeg"),
        "no thumbnails in a pseudonymized report"
    );
    write(&out("short"), b"short");
    let o = run(&[
        "report",
        c,
        "--pseudonymize",
        out("short").to_str().unwrap(),
    ]);
    expect_code(&o, 1, "short key");
    assert!(stderr(&o).contains("at least 16 bytes"), "{}", stderr(&o));
}

#[test]
fn an_empty_case_reports_validly_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("empty");
    std::fs::create_dir_all(&evidence).unwrap();
    let case = tmp.path().join("case");
    expect_code(&scan(&evidence, &case, "T", &[]), 0, "empty scan");
    let c = case.to_str().unwrap();
    for (format, file) in [
        ("html", "r.html"),
        ("json", "r.json"),
        ("kml", "r.kml"),
        ("case-uco", "r.jsonld"),
        ("processing-record", "p.json"),
    ] {
        let path = tmp.path().join(file);
        expect_code(
            &run(&[
                "report",
                c,
                "--format",
                format,
                "--by",
                "R",
                "--out",
                path.to_str().unwrap(),
            ]),
            0,
            format,
        );
    }
    let html = std::fs::read_to_string(tmp.path().join("r.html")).unwrap();
    assert!(
        html.contains("This case holds no items"),
        "the report says the case is empty"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["empty"], true);
    assert!(
        std::fs::read_to_string(tmp.path().join("r.kml"))
            .unwrap()
            .contains("</kml>")
    );
    validates(&tmp.path().join("r.jsonld"));
}

#[test]
fn bad_rules_files_exit_1_with_the_rule_line() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("r.toml");
    let check = |text: &str, wanted: &[&str]| {
        std::fs::write(&rules, text).unwrap();
        let o = run(&["rules", "show", "--rules", rules.to_str().unwrap()]);
        expect_code(&o, 1, "bad rules");
        for w in wanted {
            assert!(stderr(&o).contains(w), "{w:?} not in {}", stderr(&o));
        }
    };
    let head = "version = \"1\"\n";
    check(
        &format!(
            "{head}[[rule]]\nid = \"a\"\ntitle = \"t\"\nkinds = [\"image.clasification\"]\nweight = 1.0\nexplain = \"e\"\n"
        ),
        &["line 3", "unknown observation kind", "image.classification"],
    );
    check(
        &format!(
            "{head}[[rule]]\nid = \"a\"\ntitle = \"t\"\nkinds = [\"image.classification\"]\nwhere = {{ score = {{ gt = 0.9, lt = 0.2 }} }}\nweight = 1.0\nexplain = \"e\"\n"
        ),
        &["line 3", "could never fire"],
    );
    check(
        &format!(
            "{head}[[rule]]\nid = \"a\"\ntitle = \"t\"\ncombine = {{ subject = \"item\", requires = [{{ rules = [\"b\"], via = \"self\" }}] }}\nweight = 1.0\nexplain = \"e\"\n\
             [[rule]]\nid = \"b\"\ntitle = \"t\"\ncombine = {{ subject = \"item\", requires = [{{ rules = [\"a\"], via = \"self\" }}] }}\nweight = 1.0\nexplain = \"e\"\n"
        ),
        &["line 3", "a cycle of combinations: a → b → a"],
    );
    // The same file given to a scan stops it before anything is read.
    let evidence = tmp.path().join("ev");
    write(&evidence.join("a.txt"), b"a");
    let o = scan(
        &evidence,
        &tmp.path().join("case"),
        "T",
        &["--rules", rules.to_str().unwrap()],
    );
    expect_code(&o, 1, "scan with bad rules");
    assert!(!tmp.path().join("case").exists());
}

/// Leads about groups (issue 14): the copies of one picture on two devices are one lead
/// with each copy under it; two devices' photos at a place of interest make a lead about the
/// place; both export for action only once confirmed, with every member (KML, CASE/UCO).
#[test]
fn copies_and_places_across_devices_are_leads_of_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (phone, laptop) = (tmp.path().join("phone"), tmp.path().join("laptop"));
    std::fs::create_dir_all(phone.join("DCIM")).unwrap();
    std::fs::create_dir_all(laptop.join("Pictures")).unwrap();
    std::fs::copy(data("exif/DSCN0010.jpg"), phone.join("DCIM/DSCN0010.jpg")).unwrap();
    std::fs::copy(
        data("exif/DSCN0010.jpg"),
        laptop.join("Pictures/from-kees.jpg"),
    )
    .unwrap();
    // Another photo of the series, 40 m away, on the laptop only.
    std::fs::copy(
        data("exif/DSCN0012.jpg"),
        laptop.join("Pictures/DSCN0012.jpg"),
    )
    .unwrap();
    let md5 = common::coreutils_digest("md5sum", &phone.join("DCIM/DSCN0010.jpg"));
    write(
        &tmp.path().join("bad.txt"),
        format!("{md5}  listed.jpg\n").as_bytes(),
    );
    write(
        &tmp.path().join("places.csv"),
        b"name,latitude,longitude,radius_m\nPiazza Grande,43.4675,11.8851,150\n",
    );
    let case = tmp.path().join("case");
    let c = case.to_str().unwrap();
    let o = run(&[
        "scan",
        phone.to_str().unwrap(),
        laptop.to_str().unwrap(),
        "--case",
        c,
        "--examiner",
        "Tester",
        "--hashset",
        tmp.path().join("bad.txt").to_str().unwrap(),
        "--places-of-interest",
        tmp.path().join("places.csv").to_str().unwrap(),
    ]);
    expect_code(&o, 0, "scan");
    let leads = export(&case, "leads");
    let of =
        |kind: &str| -> Vec<&Value> { leads.iter().filter(|l| l["subject"] == kind).collect() };
    let (clusters, places) = (of("picture-cluster"), of("place"));
    assert_eq!((clusters.len(), places.len()), (1, 1), "{leads:#?}");
    let (cluster, place) = (clusters[0], places[0]);
    assert_eq!(
        cluster["rules"],
        serde_json::json!(["flagged-picture-on-several-devices"])
    );
    assert_eq!(
        place["rules"],
        serde_json::json!(["place-of-interest-several-devices"])
    );
    // Each copy is a lead of its own (each file is evidence), gathered under the cluster:
    // the listed photo sits at the place too, but it goes under the stronger group.
    let under = |group: &Value| -> Vec<String> {
        let mut v: Vec<String> = leads
            .iter()
            .filter(|l| l["part_of"] == group["id"])
            .map(|l| {
                format!(
                    "{}:{}",
                    l["source"].as_str().unwrap(),
                    l["path"].as_str().unwrap()
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        under(cluster),
        ["laptop:Pictures/from-kees.jpg", "phone:DCIM/DSCN0010.jpg"]
    );
    assert_eq!(under(place), ["laptop:Pictures/DSCN0012.jpg"]);
    assert_eq!(
        place["hits"]["subject"]["members"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(leads.iter().all(|l| l["subject"] == "picture-cluster"
        || l["subject"] == "place"
        || l.get("part_of").is_some()));
    // The listing shows each member under its group.
    let listing = stdout(&run(&["leads", c]));
    let at = listing.find("picture cluster").unwrap();
    assert!(listing[at..].contains("└ DCIM/DSCN0010.jpg"), "{listing}");
    let explained = stdout(&run(&[
        "leads",
        "explain",
        c,
        cluster["id"].as_str().unwrap(),
    ]));
    assert!(
        explained.contains("member: phone:DCIM/DSCN0010.jpg")
            && explained.contains("member: laptop:Pictures/from-kees.jpg"),
        "{explained}"
    );
    // A group's picture can be revealed, and the reveal is logged.
    let o = run(&[
        "reveal",
        c,
        cluster["id"].as_str().unwrap(),
        "--by",
        "B. Reviewer",
        "--reason",
        "check the copies",
    ]);
    expect_code(&o, 0, "reveal a cluster's picture");

    for (lead, why) in [
        (place, "both were at the square"),
        (cluster, "the listed picture, twice"),
    ] {
        expect_code(
            &run(&[
                "review",
                c,
                lead["id"].as_str().unwrap(),
                "confirm",
                "--by",
                "B. Reviewer",
                "--reason",
                why,
            ]),
            0,
            "confirm",
        );
    }
    // The copies it gathers are decided in one query.
    let o = run(&[
        "review",
        c,
        "--part-of",
        cluster["id"].as_str().unwrap(),
        "confirm",
        "--by",
        "B. Reviewer",
        "--reason",
        "each copy viewed",
    ]);
    expect_code(&o, 0, "bulk by group");
    assert!(
        stdout(&o).contains("2 of 2 selected leads now confirmed"),
        "{}",
        stdout(&o)
    );
    let kml_path = tmp.path().join("f.kml");
    expect_code(
        &run(&[
            "report",
            c,
            "--format",
            "kml",
            "--by",
            "R",
            "--out",
            kml_path.to_str().unwrap(),
        ]),
        0,
        "kml",
    );
    let kml = std::fs::read_to_string(&kml_path).unwrap();
    // The place's three photos, and the two confirmed copies (their EXIF has GPS); the
    // cluster itself is no place.
    assert_eq!(kml.matches("<Placemark>").count(), 3 + 2, "{kml}");
    assert!(
        kml.contains("Pictures/DSCN0012.jpg") && kml.contains(",43.467"),
        "{kml}"
    );
    let uco_path = tmp.path().join("f.jsonld");
    expect_code(
        &run(&[
            "report",
            c,
            "--format",
            "case-uco",
            "--by",
            "R",
            "--out",
            uco_path.to_str().unwrap(),
        ]),
        0,
        "uco",
    );
    let uco = std::fs::read_to_string(&uco_path).unwrap();
    assert!(uco.contains("from-kees.jpg") && uco.contains("DSCN0012.jpg"));
    validates(&uco_path);
}
