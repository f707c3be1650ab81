//! The network graph against NetworkX on real covert networks, loaded through spoor's own
//! input path (call records in CDR files, scanned), and its identity and edge rules on
//! records written for the purpose.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use common::{data, expect_code, run, scan, stdout};
use serde_json::Value;

/// Writes one bandicoot CDR file per person of an edge list: each tie `a — b` of weight w is
/// w outgoing calls in a's file (people named p0, p1, … in sorted order of their names, as
/// scripts/graph-reference.py names them).
fn write_cdr_files(edges_csv: &Path, dir: &Path) {
    let mut reader = csv::Reader::from_path(edges_csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (from, to, weight) = (col("from").unwrap(), col("to").unwrap(), col("weight"));
    let rows: Vec<(String, String, u64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let w = weight.map_or(1.0, |i| r[i].parse::<f64>().unwrap());
            (r[from].to_string(), r[to].to_string(), w as u64)
        })
        .collect();
    let mut names: Vec<&str> = rows
        .iter()
        .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
        .collect();
    names.sort();
    names.dedup();
    let token = |n: &str| format!("p{}", names.binary_search(&n).unwrap());
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut second = 0u64;
    for (a, b, w) in &rows {
        if a == b {
            continue;
        }
        let body = files.entry(token(a)).or_insert_with(|| {
            "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n".into()
        });
        for _ in 0..*w {
            second += 1;
            let (h, m, s) = (second / 3600 % 24, second / 60 % 60, second % 60);
            writeln!(
                body,
                "call,out,{},2020-01-01 {h:02}:{m:02}:{s:02},60,1",
                token(b)
            )
            .unwrap();
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    for (person, body) in files {
        std::fs::write(dir.join(format!("{person}.csv")), body).unwrap();
    }
}

fn graph_json(case: &Path) -> Value {
    let o = run(&["graph", case.to_str().unwrap(), "--json"]);
    expect_code(&o, 0, "graph --json");
    serde_json::from_str(&stdout(&o)).expect("graph --json is JSON")
}

#[test]
fn every_metric_equals_networkx_on_the_covert_networks() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(data("networks/expected.json")).unwrap()).unwrap();
    let networks = expected["networks"].as_object().unwrap();
    assert_eq!(networks.len(), 6);
    for (name, want) in networks {
        let tmp = tempfile::tempdir().unwrap();
        let evidence = tmp.path().join("cdr");
        write_cdr_files(&data(&format!("networks/{name}_edges.csv")), &evidence);
        let case = tmp.path().join("case");
        let o = scan(&evidence, &case, "analyst", &[]);
        expect_code(&o, 0, "scan of the CDR files");
        let got = graph_json(&case);
        let nodes = got["network"]["nodes"].as_array().unwrap();
        let metrics = got["metrics"].as_array().unwrap();
        let want_nodes = want["nodes"].as_object().unwrap();
        assert_eq!(nodes.len(), want_nodes.len(), "{name}: nodes");
        assert_eq!(got["components"], want["components"], "{name}: components");
        for (node, m) in nodes.iter().zip(metrics) {
            let key = node["key"].as_str().unwrap();
            let person = key.strip_prefix("tel-raw:").expect("a CDR party");
            let w = &want_nodes[person];
            for field in ["degree", "core", "articulation_point"] {
                assert_eq!(m[field], w[field], "{name} {person} {field}");
            }
            let close = |field: &str, tolerance: f64| {
                let (a, b) = (m[field].as_f64().unwrap(), w[field].as_f64().unwrap());
                assert!(
                    (a - b).abs() <= tolerance,
                    "{name} {person} {field}: spoor {a}, NetworkX {b}"
                );
            };
            close("strength", 0.0);
            close("betweenness", 1e-9);
            close("weighted_betweenness", 1e-9);
            close("closeness", 1e-9);
            close("harmonic", 1e-9);
            close("pagerank", 1e-6);
            close("eigenvector", 1e-6);
            close("constraint", 1e-9);
            close("effective_size", 1e-9);
        }
        let token = |i: &Value| {
            nodes[i.as_u64().unwrap() as usize]["key"].as_str().unwrap()["tel-raw:".len()..]
                .to_string()
        };
        let mut bridges: Vec<Vec<String>> = got["bridges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let mut p = vec![token(&pair[0]), token(&pair[1])];
                p.sort();
                p
            })
            .collect();
        bridges.sort();
        let want_bridges: Vec<Vec<String>> =
            serde_json::from_value(want["bridges"].clone()).unwrap();
        assert_eq!(bridges, want_bridges, "{name}: bridges");
        // Leiden: at least the modularity leidenalg reaches on the same weighted graph.
        let q = got["modularity"].as_f64().unwrap();
        let reference = want["leidenalg_modularity"].as_f64().unwrap();
        eprintln!("{name}: modularity {q:.6}, leidenalg {reference:.6}");
        assert!(
            q >= reference - 1e-9,
            "{name}: modularity {q} below leidenalg's {reference}"
        );
        // Taking out the two people of highest betweenness, as NetworkX does.
        let removed: Vec<String> = want["disrupt"]["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("tel-raw:{}", p.as_str().unwrap()))
            .collect();
        let o = run(&[
            "graph",
            "disrupt",
            case.to_str().unwrap(),
            "--remove",
            &removed.join(","),
            "--json",
        ]);
        expect_code(&o, 0, "graph disrupt");
        let d: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let before = d["before"]["efficiency"].as_f64().unwrap();
        assert!(
            (before - want["efficiency"].as_f64().unwrap()).abs() < 1e-9,
            "{name}"
        );
        let after = &d["after"];
        let w = &want["disrupt"];
        assert_eq!(
            after["components"], w["components"],
            "{name}: components after"
        );
        assert_eq!(after["largest_component"], w["largest_component"], "{name}");
        let e = after["efficiency"].as_f64().unwrap();
        assert!(
            (e - w["efficiency"].as_f64().unwrap()).abs() < 1e-9,
            "{name}: efficiency {e}"
        );
    }
}

/// A call seen from both ends (in each phone's CDR) is one contact with two sightings; the
/// subscriber of one file and the correspondent of the other are the same identifier.
#[test]
fn a_call_in_both_parties_records_is_one_contact_and_the_two_files_meet() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n";
    let a = tmp.path().join("phone-a");
    let b = tmp.path().join("phone-b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        a.join("0612345678.csv"),
        format!("{header}call,out,0687654321,2024-03-01 10:00:00,125,7\ntext,out,0687654321,2024-03-02 09:00:00,,7\n"),
    )
    .unwrap();
    // The other end: 30 s later on its clock, one second shorter.
    std::fs::write(
        b.join("0687654321.csv"),
        format!("{header}call,in,0612345678,2024-03-01 10:00:30,124,9\n"),
    )
    .unwrap();
    let case = tmp.path().join("case");
    let o = run(&[
        "scan",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--case",
        case.to_str().unwrap(),
        "--examiner",
        "analyst",
        "--region",
        "NL",
    ]);
    expect_code(&o, 0, "scan");
    let got = graph_json(&case);
    let nodes = got["network"]["nodes"].as_array().unwrap();
    let keys: Vec<&str> = nodes.iter().map(|n| n["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["tel:+31612345678", "tel:+31687654321"]);
    // The first number is on both devices: its own phone's records and the other's.
    assert_eq!(
        nodes[0]["devices"],
        serde_json::json!(["phone-a", "phone-b"])
    );
    let edges = got["network"]["edges"].as_array().unwrap();
    let call = edges.iter().find(|e| e["kind"] == "call").unwrap();
    assert_eq!(
        (
            &call["from"],
            &call["to"],
            &call["count"],
            &call["sightings"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(2)
        )
    );
    assert_eq!(call["seconds"], 125.0);
    let message = edges.iter().find(|e| e["kind"] == "message").unwrap();
    assert_eq!(message["count"], 1);
    let ledger = got["network"]["ledger"].as_array().unwrap();
    assert!(
        ledger
            .iter()
            .any(|entry| entry[1]["rule"] == "same-identifier"),
        "{ledger:?}"
    );
}

/// A group chat is one node with its members, not a clique; `--owner LABEL=ID` names one
/// phone's owner, who is merged with that phone's records of their own side.
#[test]
fn a_group_chat_is_one_node_and_owners_are_given_per_device() {
    let tmp = tempfile::tempdir().unwrap();
    let phone = tmp.path().join("phone");
    std::fs::create_dir_all(&phone).unwrap();
    std::fs::write(
        phone.join("WhatsApp Chat with Crew.txt"),
        "01/03/2024, 10:00 - Ann: who has it\n01/03/2024, 10:01 - Bob: me\n01/03/2024, 10:02 - Cas: ok\n01/03/2024, 10:03 - Ann: tonight\n",
    )
    .unwrap();
    std::fs::write(
        phone.join("WhatsApp Chat with Bob.txt"),
        "02/03/2024, 11:00 - Ann: bring it\n02/03/2024, 11:05 - Bob: yes\n",
    )
    .unwrap();
    let case = tmp.path().join("case");
    let o = scan(&phone, &case, "analyst", &["--owner", "phone=Ann"]);
    expect_code(&o, 0, "scan");
    let got = graph_json(&case);
    let nodes = got["network"]["nodes"].as_array().unwrap();
    let group: Vec<&Value> = nodes.iter().filter(|n| n["kind"] == "group").collect();
    assert_eq!(group.len(), 1, "{nodes:?}");
    let edges = got["network"]["edges"].as_array().unwrap();
    let members = edges.iter().filter(|e| e["kind"] == "group-member").count();
    assert_eq!(members, 3, "Ann, Bob and Cas are members of the one group");
    // No clique: Bob and Cas have no edge of their own.
    let index = |label: &str| {
        nodes
            .iter()
            .position(|n| n["label"] == label)
            .unwrap_or_else(|| panic!("{label} in {nodes:?}"))
    };
    let (bob, cas) = (index("Bob"), index("Cas"));
    assert!(
        !edges
            .iter()
            .any(|e| (e["from"] == bob && e["to"] == cas) || (e["from"] == cas && e["to"] == bob))
    );
    // The two-person chat: Ann and Bob both ways, one message each.
    let ann = index("Ann");
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == ann && e["to"] == bob && e["kind"] == "message")
    );
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == bob && e["to"] == ann && e["kind"] == "message")
    );
    // A label that names no source is refused before anything is read.
    let o = scan(
        &phone,
        &tmp.path().join("c2"),
        "analyst",
        &["--owner", "laptop=Ann"],
    );
    expect_code(&o, 1, "unknown owner label");
}

/// Time-respecting paths follow the clock and the direction of messages: A→B then B→C is a
/// path from A to C; with the contacts the other way round in time there is none, though the
/// shortest path by hops is the same.
#[test]
fn a_time_respecting_path_follows_the_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n";
    let evidence = tmp.path().join("cdr");
    std::fs::create_dir_all(&evidence).unwrap();
    let write = |name: &str, rows: &str| {
        std::fs::write(evidence.join(name), format!("{header}{rows}")).unwrap();
    };
    write(
        "0611111111.csv",
        "text,out,0622222222,2024-05-01 09:00:00,,1\n",
    );
    write(
        "0622222222.csv",
        "text,out,0633333333,2024-05-01 10:00:00,,1\ntext,out,0644444444,2024-04-30 08:00:00,,1\n",
    );
    write(
        "0644444444.csv",
        "text,out,0655555555,2024-04-29 08:00:00,,1\n",
    );
    let case = tmp.path().join("case");
    expect_code(
        &scan(&evidence, &case, "analyst", &["--region", "NL"]),
        0,
        "scan",
    );
    let path = |from: &str, to: &str, extra: &[&str]| -> Value {
        let mut args = vec!["graph", "path", case.to_str().unwrap(), from, to, "--json"];
        args.extend_from_slice(extra);
        let o = run(&args);
        expect_code(&o, 0, "graph path");
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let (a, c) = ("tel:+31611111111", "tel:+31633333333");
    let found = path(a, c, &["--time-respecting"]);
    let hops = found["path"].as_array().expect("a path from A to C");
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["time"], "2024-05-01T09:00:00");
    assert_eq!(hops[1]["time"], "2024-05-01T10:00:00");
    // Each hop names the record behind it.
    assert!(hops.iter().all(|h| h["record"].as_i64().is_some()));
    // B held it for an hour: a 10-minute limit leaves no path.
    assert!(path(a, c, &["--time-respecting", "--max-wait", "10m"])["path"].is_null());
    // A → B → D → E by hops, but D passed to E the day before it heard from B.
    let e = "tel:+31655555555";
    assert_eq!(
        path(a, e, &[])["paths"].as_array().unwrap()[0]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(path(a, e, &["--time-respecting"])["path"].is_null());
}

/// Hostile shapes: an empty case, a self-call, a number that normalises to nothing, and a
/// bulk sender with thousands of one-off contacts give a clear result, not a panic or a
/// quadratic blow-up.
#[test]
fn empty_cases_self_loops_and_bulk_senders_give_a_clear_result() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let case = tmp.path().join("case-empty");
    expect_code(&scan(&empty, &case, "analyst", &[]), 0, "scan of nothing");
    let o = run(&["graph", case.to_str().unwrap()]);
    expect_code(&o, 0, "graph of an empty case");
    assert!(
        stdout(&o).contains("network: 0 identities, 0 groups, 0 edges"),
        "{}",
        stdout(&o)
    );
    let got = graph_json(&case);
    assert_eq!(got["modularity"], 0.0);

    let evidence = tmp.path().join("cdr");
    std::fs::create_dir_all(&evidence).unwrap();
    let header = "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n";
    let mut bulk = String::from(header);
    for i in 0..3000 {
        writeln!(
            bulk,
            "text,out,06{:08},2024-01-01 10:{:02}:{:02},,1",
            10_000_000 + i,
            i / 60 % 60,
            i % 60
        )
        .unwrap();
    }
    // A call to itself and a party that is only spaces.
    bulk.push_str(
        "call,out,0611111111,2024-01-02 10:00:00,30,1\ncall,out,   ,2024-01-02 11:00:00,30,1\n",
    );
    std::fs::write(evidence.join("0611111111.csv"), bulk).unwrap();
    let case = tmp.path().join("case-bulk");
    let o = scan(&evidence, &case, "analyst", &["--region", "NL"]);
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "{}",
        common::stderr(&o)
    );
    let started = std::time::Instant::now();
    let got = graph_json(&case);
    let nodes = got["network"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3001, "the sender and its 3,000 correspondents");
    let sender = nodes
        .iter()
        .position(|n| n["key"] == "tel:+31611111111")
        .unwrap();
    assert_eq!(got["metrics"][sender]["degree"], 3000);
    let unused = &got["network"]["unused"];
    assert_eq!(unused["contact of an identity with itself"], 1, "{unused}");
    assert_eq!(unused["call without a sender or recipient"], 1, "{unused}");
    // Not a timed test: a generous bound that only a quadratic step would break.
    assert!(
        started.elapsed().as_secs() < 120,
        "graph of a bulk sender took {:?}",
        started.elapsed()
    );
}

/// An investigator merges two identities and splits an identifier off, each in the ledger and
/// the audit chain; an undo takes a decision back.
#[test]
fn investigators_merge_split_and_undo_with_the_ledger_and_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n";
    let evidence = tmp.path().join("cdr");
    std::fs::create_dir_all(&evidence).unwrap();
    std::fs::write(
        evidence.join("0611111111.csv"),
        format!("{header}call,out,0622222222,2024-01-01 10:00:00,30,1\ncall,out,0633333333,2024-01-01 11:00:00,30,1\n"),
    )
    .unwrap();
    let case = tmp.path().join("case");
    expect_code(
        &scan(&evidence, &case, "analyst", &["--region", "NL"]),
        0,
        "scan",
    );
    let c = case.to_str().unwrap();
    let nodes = |g: &Value| g["network"]["nodes"].as_array().unwrap().len();
    assert_eq!(nodes(&graph_json(&case)), 3);
    // Without a reason nothing is recorded.
    let o = run(&[
        "graph",
        "merge",
        c,
        "tel:+31622222222",
        "tel:+31633333333",
        "--by",
        "Ann",
        "--reason",
        " ",
    ]);
    expect_code(&o, 1, "merge without a reason");
    let o = run(&[
        "graph",
        "merge",
        c,
        "tel:+31622222222",
        "tel:+31633333333",
        "--by",
        "Ann",
        "--reason",
        "same SIM swapped (intercept 12)",
    ]);
    expect_code(&o, 0, "merge");
    let g = graph_json(&case);
    assert_eq!(nodes(&g), 2);
    let ledger = g["network"]["ledger"].as_array().unwrap();
    let merge = ledger
        .iter()
        .find(|e| e[1]["rule"] == "investigator-merge")
        .expect("in the ledger");
    assert_eq!(merge[1]["decision"]["by"], "Ann");
    // Split one number off again, then undo the split: merged once more.
    let o = run(&[
        "graph",
        "split",
        c,
        "tel:+31633333333",
        "--by",
        "Bob",
        "--reason",
        "different handset",
    ]);
    expect_code(&o, 0, "split");
    assert_eq!(nodes(&graph_json(&case)), 3);
    let o = run(&[
        "graph",
        "undo",
        c,
        "2",
        "--by",
        "Ann",
        "--reason",
        "Bob's check was on the wrong file",
    ]);
    expect_code(&o, 0, "undo");
    assert_eq!(nodes(&graph_json(&case)), 2);
    let o = run(&["graph", "undo", c, "2", "--by", "Ann", "--reason", "again"]);
    expect_code(&o, 1, "a decision is undone once");
    // Every decision is in the audit chain, and the chain holds.
    let o = run(&["audit", "log", c]);
    let log = stdout(&o);
    for action in ["identity-merge", "identity-split", "identity-undo"] {
        assert!(log.contains(action), "{action} in the audit log");
    }
    expect_code(&run(&["audit", "verify", c]), 0, "audit verify");
}

/// Network roles are observations on identities and the default rules turn them into leads:
/// a broker between two cells, and a number used for one evening that reaches the broker. An
/// identity decision recomputes both with the rules the case was scanned with.
#[test]
fn network_roles_become_leads_on_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n";
    let evidence = tmp.path().join("cdr");
    std::fs::create_dir_all(&evidence).unwrap();
    // Two cells of three (0611…, 0622…), a broker 0610000000 with two ties into each, and
    // 0690000000, three calls to the broker in one evening of a month-long case.
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    let mut call = |from: &'static str, to: &str, day: u32, hour: u32| {
        writeln!(
            files.entry(from).or_insert_with(|| header.to_string()),
            "call,out,{to},2024-01-{day:02} {hour:02}:00:00,60,1"
        )
        .unwrap();
    };
    for (day, cell) in [(1, "1"), (2, "2")] {
        let member = |i: u32| format!("06{cell}{cell}{cell}{cell}{cell}{cell}{cell}{i}");
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        call(leak(member(1)), &member(2), day, 9);
        call(leak(member(2)), &member(3), day + 10, 9);
        call(leak(member(3)), &member(1), day + 20, 9);
        call("0610000000", &member(1), day + 5, 12);
        call("0610000000", &member(2), day + 25, 12);
    }
    for hour in [20, 21, 22] {
        call("0690000000", "0610000000", 15, hour);
    }
    for (name, body) in files {
        std::fs::write(evidence.join(format!("{name}.csv")), body).unwrap();
    }
    let leads = |case: &Path| -> Vec<Value> {
        let o = run(&["leads", case.to_str().unwrap(), "--json"]);
        expect_code(&o, 0, "leads --json");
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let on = |leads: &[Value], key: &str| -> Vec<String> {
        leads
            .iter()
            .filter(|l| l["subject_key"] == format!("identity:{key}") && l["active"] == true)
            .flat_map(|l| l["rules"].as_array().unwrap().clone())
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let case = tmp.path().join("case");
    expect_code(
        &scan(&evidence, &case, "analyst", &["--region", "NL"]),
        0,
        "scan",
    );
    // The network pass stored the network: read back, it is the network built afresh.
    let stored = graph_json(&case);
    let db = rusqlite::Connection::open(case.join("case.sqlite")).unwrap();
    assert_eq!(
        db.execute("DELETE FROM meta WHERE key = 'network'", [])
            .unwrap(),
        1
    );
    drop(db);
    assert_eq!(
        stored,
        graph_json(&case),
        "stored and rebuilt networks differ"
    );
    let found = leads(&case);
    let broker = on(&found, "tel:+31610000000");
    assert!(
        broker.contains(&"network-broker".to_string())
            && broker.contains(&"network-community-bridge".to_string()),
        "the broker's lead: {broker:?}"
    );
    assert_eq!(on(&found, "tel:+31690000000"), ["network-burner"]);
    // A cell member is neither a broker between cells nor a burner.
    assert!(!on(&found, "tel:+31611111113").contains(&"network-community-bridge".to_string()));
    let lead = found
        .iter()
        .find(|l| l["subject_key"] == "identity:tel:+31690000000")
        .unwrap();
    assert_eq!(lead["subject"], "identity");
    let explanation = lead["hits"]["hits"][0]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("3 contacts with 1 correspondent")
            && explanation.contains("0.08 days"),
        "{explanation}"
    );
    // The observations are exported with their subject, and catalogued.
    let observations = common::export(&case, "observations");
    let metrics: Vec<&Value> = observations
        .iter()
        .filter(|o| o["kind"] == "network.metrics")
        .collect();
    assert_eq!(metrics.len(), 8, "one per identity");
    let broker_metrics = metrics
        .iter()
        .find(|o| o["subject_key"] == "tel:+31610000000")
        .unwrap();
    assert_eq!(broker_metrics["subject"], "identity");
    assert_eq!(broker_metrics["value"]["betweenness_rank"], 1);
    // Leiden puts the broker with the number that only calls it: all four ties into the
    // cells are outside its community.
    assert_eq!(broker_metrics["value"]["ties_outside"], 4);
    assert_eq!(broker_metrics["value"]["communities_reached"], 2);
    let activity = observations
        .iter()
        .find(|o| o["kind"] == "network.activity" && o["subject_key"] == "tel:+31690000000")
        .unwrap();
    // 2024-01-15 was a Monday: 20:00–22:00 are hours 20, 21 and 22 of the week.
    let hours = activity["value"]["by_hour_of_week"].as_array().unwrap();
    assert_eq!(hours.len(), 168);
    assert_eq!(
        (hours[20].as_u64(), hours[21].as_u64(), hours[23].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(activity["value"]["first"], "2024-01-15T20:00:00");
    // The burner's neighbourhood: the broker at one hop, the four cell members he calls at two.
    let o = run(&[
        "graph",
        "show",
        case.to_str().unwrap(),
        "+31690000000",
        "--depth",
        "2",
        "--json",
    ]);
    expect_code(&o, 0, "graph show --depth 2");
    let shown: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ring = |d: u64| -> Vec<String> {
        shown["neighbourhood"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["depth"] == d)
            .map(|n| n["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ring(1), ["tel:+31610000000"]);
    assert_eq!(ring(2).len(), 4, "{:?}", ring(2));
    assert!(
        ring(2)
            .iter()
            .all(|k| k.starts_with("tel:+31611") || k.starts_with("tel:+31622"))
    );
    assert_eq!(shown["activity"]["contacts"], 3);
    assert_eq!(shown["records"].as_array().unwrap().len(), 3);
    let o = run(&[
        "graph",
        "show",
        case.to_str().unwrap(),
        "+31690000000",
        "--depth",
        "4",
    ]);
    expect_code(&o, 1, "a depth beyond 3 is refused");
    // Around the evening of the 15th: the burner's tie both starts and stops; the cells'
    // ties, spread over the month, neither.
    let o = run(&[
        "graph",
        case.to_str().unwrap(),
        "--around",
        "2024-01-15T21:00:00",
        "--window",
        "2h",
        "--json",
    ]);
    expect_code(&o, 0, "graph --around");
    let around: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ties = around["around"]["ties"].as_array().unwrap();
    assert_eq!(ties.len(), 1, "{ties:?}");
    assert_eq!(ties[0]["change"], "both");
    assert_eq!(ties[0]["contacts"], 3);
    // The investigator decides the number is the broker's second phone: merged, the burner
    // lead has nothing left to stand on and is dropped (it was never reviewed).
    let c = case.to_str().unwrap();
    let o = run(&[
        "graph",
        "merge",
        c,
        "tel:+31690000000",
        "tel:+31610000000",
        "--by",
        "Ann",
        "--reason",
        "both numbers in one handset (seizure report 4)",
    ]);
    expect_code(&o, 0, "merge");
    let after = leads(&case);
    assert!(
        after
            .iter()
            .all(|l| l["subject_key"] != "identity:tel:+31690000000")
    );
    assert!(on(&after, "tel:+31610000000").contains(&"network-broker".to_string()));
    // A case scanned with rules that have no network rule gets no identity lead, after a
    // decision too: the rebuild uses the rules in force.
    let rules = tmp.path().join("rules.toml");
    let default = spoor::leads::DEFAULT_RULES;
    let no_network = &default[..default.find("# Network roles").unwrap()];
    std::fs::write(&rules, no_network).unwrap();
    let other = tmp.path().join("other");
    let rules_arg = rules.to_str().unwrap();
    expect_code(
        &scan(
            &evidence,
            &other,
            "analyst",
            &["--region", "NL", "--rules", rules_arg],
        ),
        0,
        "scan with item rules only",
    );
    assert!(leads(&other).iter().all(|l| l["subject"] != "identity"));
    let o = run(&[
        "graph",
        "split",
        other.to_str().unwrap(),
        "tel:+31690000000",
        "--by",
        "Ann",
        "--reason",
        "check",
    ]);
    // Nothing to split (one identifier): refused, and nothing changed.
    expect_code(&o, 1, "split of a lone identifier");
    let o = run(&[
        "graph",
        "merge",
        other.to_str().unwrap(),
        "tel:+31690000000",
        "tel:+31611111111",
        "--by",
        "Ann",
        "--reason",
        "check",
    ]);
    expect_code(&o, 0, "merge in the item-rules case");
    assert!(leads(&other).iter().all(|l| l["subject"] != "identity"));
}

/// An operator's export lists both parties on every row (A-number, B-number); read through a
/// mapping file, its calls meet the same calls in a seized phone's CDR as one contact each.
#[test]
fn an_operator_export_with_both_parties_per_row_meets_the_phones_records() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    common::write(
        &evidence.join("operator/vordering-17.csv"),
        "Soort;A-nummer;B-nummer;Begintijd;Duur;Cel-ID\n\
         Spraak;0611111111;0622222222;2024-01-01 10:00:00;61;NL-1\n\
         SMS;0622222222;0633333333;2024-01-01 10:05:00;;NL-2\n\
         Spraak;0633333333;0611111111;2024-01-01 11:00:00;30;NL-1\n"
            .as_bytes(),
    );
    // The first call again, as the caller's phone logged it (one second longer, in the
    // phone's clock, one hour ahead of UTC as the operator's +01:00 is).
    common::write(
        &evidence.join("phone/0611111111.csv"),
        b"interaction,direction,correspondent_id,datetime,call_duration,antenna_id\n\
          call,out,0622222222,2024-01-01 10:00:30,62,1\n",
    );
    let mapping = tmp.path().join("operator.toml");
    std::fs::write(
        &mapping,
        "name = \"operator-ab\"\ndelimiter = \";\"\nkind = \"Soort\"\na_party = \"A-nummer\"\n\
         b_party = \"B-nummer\"\ntime = \"Begintijd\"\nduration = \"Duur\"\ncell = \"Cel-ID\"\n\
         call_values = [\"Spraak\"]\ntext_values = [\"SMS\"]\ntime_format = \"YYYY-MM-DD HH:MM:SS\"\n\
         zone = \"unknown\"\n",
    )
    .unwrap();
    let case = tmp.path().join("case");
    // Two sources: the operator's answer and the seized phone.
    let o = scan(
        &evidence.join("operator"),
        &case,
        "analyst",
        &[
            evidence.join("phone").to_str().unwrap(),
            "--region",
            "NL",
            "--cdr-mapping",
            mapping.to_str().unwrap(),
        ],
    );
    expect_code(&o, 0, "scan");
    let records = common::export(&case, "records");
    let operator: Vec<&Value> = records
        .iter()
        .filter(|r| r["source"] == "operator")
        .collect();
    assert_eq!(operator.len(), 3);
    let parties = |r: &Value| -> Vec<(String, String)> {
        r["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["role"].as_str().unwrap().into(),
                    p["identifier"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        parties(operator[1]),
        [
            ("from".to_string(), "tel:+31622222222".to_string()),
            ("to".to_string(), "tel:+31633333333".to_string())
        ]
    );
    assert_eq!(operator[1]["kind"], "message");
    let g = graph_json(&case);
    let nodes = g["network"]["nodes"].as_array().unwrap();
    assert_eq!(
        nodes.len(),
        3,
        "three numbers, one identity each: {nodes:?}"
    );
    let key = |i: &Value| {
        nodes[i.as_u64().unwrap() as usize]["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let edges = g["network"]["edges"].as_array().unwrap();
    let call = edges
        .iter()
        .find(|e| {
            e["kind"] == "call"
                && key(&e["from"]) == "tel:+31611111111"
                && key(&e["to"]) == "tel:+31622222222"
        })
        .expect("the A → B call");
    assert_eq!(call["count"], 1, "one call: {call}");
    assert_eq!(
        call["sightings"], 2,
        "seen by the operator and on the phone: {call}"
    );
    let back = edges
        .iter()
        .find(|e| key(&e["from"]) == "tel:+31633333333" && key(&e["to"]) == "tel:+31611111111")
        .expect("the C → A call, directed");
    assert_eq!(back["count"], 1);
    // A mapping naming both shapes at once is refused before anything is read.
    std::fs::write(
        &mapping,
        "name = \"x\"\ndelimiter = \";\"\na_party = \"A\"\nb_party = \"B\"\nparty = \"P\"\ntime = \"T\"\n\
         time_format = \"epoch\"\nzone = \"UTC\"\n",
    )
    .unwrap();
    let o = scan(
        &evidence,
        &tmp.path().join("c2"),
        "analyst",
        &["--cdr-mapping", mapping.to_str().unwrap()],
    );
    expect_code(&o, 1, "a mapping with both shapes");
    assert!(
        common::stderr(&o).contains("either `direction` and `party`"),
        "{}",
        common::stderr(&o)
    );
}
