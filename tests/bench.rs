//! `spoor bench` (issue 16): a quick run writes a report of the documented schema, with a
//! figure for every stage that adds up; a report compared with itself is 1.0 everywhere; a
//! file that is not a report is refused with its name.

mod common;

use common::{run, stderr, stdout};

#[test]
fn a_quick_bench_reports_every_stage_and_compares_to_itself_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("a.json");
    let work = tmp.path().join("work");
    let o = run(&[
        "bench",
        "--quick",
        "--models",
        "none",
        "--json",
        report.to_str().unwrap(),
        "--work-dir",
        work.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("machine: ") && text.contains("walk+digests"),
        "{text}"
    );

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["schema"], "spoor-bench/1");
    assert_eq!(r["quick"], true);
    let m = &r["machine"];
    for field in ["cpu", "os", "spoor"] {
        assert!(m[field].as_str().is_some_and(|s| !s.is_empty()), "{m}");
    }
    assert!(m["cores"].as_u64().unwrap() >= 1 && m["memory_gib"].as_f64().unwrap() > 0.0);
    assert!(
        m.get("onnxruntime").is_some(),
        "the field is there, null or not"
    );
    let stages = r["stages"].as_array().unwrap();
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    for want in [
        "walk+digests",
        "pictures",
        "near-duplicates",
        "parsers",
        "word-index",
        "entities",
        "graph-build",
        "graph-metrics",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("model:")),
        "--models none"
    );
    for s in stages {
        let (items, seconds) = (s["items"].as_f64().unwrap(), s["seconds"].as_f64().unwrap());
        assert!(items > 0.0 && seconds > 0.0, "{s}");
        let rate = s["items_per_s"].as_f64().unwrap();
        assert!((rate - items / seconds).abs() <= 1e-6 * rate, "{s}");
        if let Some(mb) = s["mb_per_s"].as_f64() {
            let bytes = s["bytes"].as_f64().unwrap();
            assert!((mb - bytes / 1e6 / seconds).abs() <= 1e-6 * mb, "{s}");
        }
        assert!(s["peak_rss_mb"].as_f64().unwrap() > 0.0, "{s}");
        assert!(["stage", "process"].contains(&s["peak_rss_scope"].as_str().unwrap()));
        assert!(!s["note"].as_str().unwrap().is_empty(), "{s}");
    }
    // The corpus is what the report says: 2,004 files, 23 pictures.
    let stage = |n: &str| stages.iter().find(|s| s["stage"] == n).unwrap();
    assert_eq!(stage("walk+digests")["items"], 2004);
    assert_eq!(stage("pictures")["items"], 23);
    // The temporary work folder given was used and left for the caller.
    assert!(work.join("corpus/pictures").is_dir());

    let ratios = tmp.path().join("ratios.json");
    let o = run(&[
        "bench",
        "--compare",
        report.to_str().unwrap(),
        report.to_str().unwrap(),
        "--json",
        ratios.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&ratios).unwrap()).unwrap();
    let rows = c["ratios"].as_array().unwrap();
    assert_eq!(rows.len(), stages.len());
    for row in rows {
        for field in ["items_per_s", "peak_rss"] {
            assert_eq!(row[field].as_f64(), Some(1.0), "{row}");
        }
        assert!(row["mb_per_s"].is_null() || row["mb_per_s"].as_f64() == Some(1.0));
        assert!(row["note"].is_null(), "{row}");
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == row["stage"].as_str())
            .unwrap();
        assert!(line.contains("1.00"), "{line}");
    }

    // Not a report: refused, naming the file.
    let bad = tmp.path().join("not-a-report.json");
    std::fs::write(&bad, r#"{"schema": "something else"}"#).unwrap();
    let o = run(&[
        "bench",
        "--compare",
        report.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("not-a-report.json") && stderr(&o).contains("spoor-bench/1"),
        "{}",
        stderr(&o)
    );
}
