//! Times spoor's network stages on a deterministic synthetic communication case, for
//! scripts/bench-graph.sh (which runs igraph, NetworKit and NetworkX on the same edges in the
//! same run).
//!
//!   graph_rate PEOPLE CONTACTS SEED EDGES_OUT [--exact-betweenness] [--weighted]
//!              [--sampled PIVOTS] [--edges FILE] [--build-only] [--save-case DIR]
//!
//! `--save-case DIR` analyses the network as a scan does and stores it in a new case at DIR
//! (for examples/web_rate.rs: the review UI's network page on a large network), then stops.
//!
//! The case: PEOPLE phone numbers, CONTACTS calls and messages between them over a year; who
//! calls whom is skewed (a node's chance falls as a power of its rank, as in real call graphs:
//! a few hubs, many people with one or two contacts). With `--edges FILE` the contacts are read
//! from an edge list (`from,to[,weight]`, as tests/data/networks) instead, weight = count.
//! Writes the undirected weighted edge list it built (`a b weight`, node ids as spoor numbers
//! them) to EDGES_OUT, and prints one JSON object of seconds per stage.

use std::io::Write;
use std::time::Instant;

use spoor::graph::{self, paths};

use spoor::bench::corpus::contact_record as record;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let people: usize = args[1].parse().expect("PEOPLE");
    let contacts: usize = args[2].parse().expect("CONTACTS");
    let seed: u64 = args[3].parse().expect("SEED");
    let edges_out = &args[4];
    let exact = args.iter().any(|a| a == "--exact-betweenness");
    let weighted = args.iter().any(|a| a == "--weighted");
    let sampled: Option<usize> = args
        .iter()
        .position(|a| a == "--sampled")
        .map(|i| args[i + 1].parse().expect("PIVOTS"));
    let from_file = args
        .iter()
        .position(|a| a == "--edges")
        .map(|i| args[i + 1].clone());

    let mut records = Vec::new();
    if let Some(path) = from_file {
        let mut reader = csv::Reader::from_path(&path).expect("edge list");
        let third = reader.headers().expect("header").get(2).map(str::to_string);
        for (i, row) in reader.records().enumerate() {
            let row = row.expect("edge row");
            let value = row.get(2).and_then(|w| w.parse::<f64>().ok());
            match (third.as_deref(), value) {
                // A timestamped edge list (the DNC e-mails): one contact at that time.
                (Some("timestamp"), Some(epoch)) => {
                    let id = records.len() as i64;
                    let second = (epoch as i64).rem_euclid(365 * 86_400);
                    records.push(record(id, &row[0], &row[1], second, false));
                }
                _ => {
                    for k in 0..value.unwrap_or(1.0) as i64 {
                        let id = records.len() as i64;
                        records.push(record(id, &row[0], &row[1], i as i64 * 97 + k, true));
                    }
                }
            }
        }
    } else {
        records = spoor::bench::corpus::contacts(people, contacts, seed);
    }
    let mut t = serde_json::Map::new();
    let clock = Instant::now();
    let network = graph::build(&records, &[]);
    if let Some(i) = args.iter().position(|a| a == "--save-case") {
        let case =
            spoor::store::prepare_for_writing(std::path::Path::new(&args[i + 1])).expect("case");
        let mut conn = spoor::store::open_store(&case).expect("store");
        let analysed = graph::analyse(network);
        let tx = conn.transaction().unwrap();
        spoor::store::graph::save_network(&tx, &analysed, "synthetic").unwrap();
        tx.commit().unwrap();
        println!(
            "{{\"saved\": {:?}, \"nodes\": {}, \"seconds\": {}}}",
            args[i + 1],
            analysed.network.nodes.len(),
            clock.elapsed().as_secs_f64()
        );
        return;
    }
    t.insert("build".into(), clock.elapsed().as_secs_f64().into());
    if args.iter().any(|a| a == "--build-only") {
        println!("{}", serde_json::Value::Object(t));
        return;
    }
    let csr = graph::contact_graph(&network);
    t.insert("nodes".into(), csr.len().into());
    t.insert("edges".into(), (csr.targets.len() / 2).into());
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(edges_out).expect("EDGES_OUT"));
        for v in 0..csr.len() {
            for (&w, &x) in csr.neighbours(v).iter().zip(csr.neighbour_weights(v)) {
                if (w as usize) > v {
                    writeln!(out, "{v} {w} {x}").unwrap();
                }
            }
        }
    }
    let time = |t: &mut serde_json::Map<String, serde_json::Value>, name: &str, f: &dyn Fn()| {
        let clock = Instant::now();
        f();
        t.insert(name.into(), clock.elapsed().as_secs_f64().into());
    };
    let mut exact_values = None;
    if exact {
        let clock = Instant::now();
        let b = csr.betweenness();
        t.insert("betweenness".into(), clock.elapsed().as_secs_f64().into());
        exact_values = Some(b.clone());
        // The values, for the peers to be compared with.
        let pr = csr.pagerank(0.85, 1e-10, 1000);
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(format!("{edges_out}.values")).expect("values file"),
        );
        for v in 0..csr.len() {
            writeln!(out, "{v} {} {}", b[v], pr[v]).unwrap();
        }
    }
    if let Some(pivots) = sampled {
        let clock = Instant::now();
        let (estimate, bound) = csr.betweenness_sampled(pivots, graph::LEIDEN_SEED, 0.05);
        t.insert("sampled".into(), clock.elapsed().as_secs_f64().into());
        t.insert("sampled_pivots".into(), pivots.into());
        t.insert("sampled_bound".into(), bound.into());
        if let Some(b) = &exact_values {
            let worst = estimate
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            let mean = estimate
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .sum::<f64>()
                / b.len().max(1) as f64;
            t.insert("sampled_worst_error".into(), worst.into());
            t.insert("sampled_mean_error".into(), mean.into());
            // Do the top 10 brokers stay the top 10?
            let top = |v: &[f64]| {
                let mut order: Vec<usize> = (0..v.len()).collect();
                order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
                order.truncate(10);
                order
            };
            let (want, got) = (top(b), top(&estimate));
            let kept = got.iter().filter(|v| want.contains(v)).count();
            t.insert("sampled_top10_kept".into(), kept.into());
        }
    }
    if weighted {
        let clock = Instant::now();
        let w = csr.betweenness_weighted();
        t.insert(
            "weighted_betweenness".into(),
            clock.elapsed().as_secs_f64().into(),
        );
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(format!("{edges_out}.weighted")).expect("weighted values file"),
        );
        for (v, x) in w.iter().enumerate() {
            writeln!(out, "{v} {x}").unwrap();
        }
    }
    time(&mut t, "pagerank", &|| {
        std::hint::black_box(csr.pagerank(0.85, 1e-10, 1000));
    });
    time(&mut t, "core", &|| {
        std::hint::black_box(csr.core_numbers());
    });
    time(&mut t, "leiden", &|| {
        std::hint::black_box(graph::leiden::communities(&csr, graph::LEIDEN_SEED));
    });
    let leiden = graph::leiden::communities(&csr, graph::LEIDEN_SEED);
    t.insert(
        "modularity".into(),
        graph::leiden::modularity(&csr, &leiden).into(),
    );
    // Three runs, as NetworKit's ParallelLeiden makes by default: speed at equal work.
    time(&mut t, "leiden_3", &|| {
        std::hint::black_box(graph::leiden::communities_with_runs(
            &csr,
            graph::LEIDEN_SEED,
            3,
        ));
    });
    let three = graph::leiden::communities_with_runs(&csr, graph::LEIDEN_SEED, 3);
    t.insert(
        "modularity_3".into(),
        graph::leiden::modularity(&csr, &three).into(),
    );
    let events = paths::events(&network);
    time(&mut t, "temporal_100", &|| {
        let n = network.nodes.len();
        for s in 0..100.min(n) {
            let target = (s * 7919 + 1) % n;
            std::hint::black_box(paths::earliest_arrival(&events, n, s, target, None, None));
        }
    });
    println!("{}", serde_json::Value::Object(t));
}
