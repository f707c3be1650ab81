//! Server time of the review UI (issue 15) on a large case, through its HTTP interface as a
//! browser reaches it: a queue page (the first, one deep in the list, filtered by rule and by
//! state) with LEADS leads, and an identity's neighbourhood (depth 1, 2, 3) in the case's
//! stored network. For scripts/bench-web.sh, which first stores a network of 100,000 people
//! in CASE with `graph_rate ... --save-case CASE`.
//!
//!   web_rate CASE LEADS
//!
//! Prints one JSON object: per request, the median and the worst of 20 timings in ms.

use std::time::Instant;

use serde_json::json;
use spoor::model::{LeadDraft, Subject};

#[path = "../tests/common/browser.rs"]
mod browser;

fn http(addr: &str, method: &str, path: &str, cookie: &str, body: &str) -> (u16, String, Vec<u8>) {
    let headers: Vec<(&str, &str)> = if cookie.is_empty() {
        Vec::new()
    } else {
        vec![("Cookie", cookie)]
    };
    let r = browser::request_as(
        addr,
        method,
        path,
        &headers,
        "application/x-www-form-urlencoded",
        body,
    );
    let head = r
        .headers
        .iter()
        .map(|(k, v)| format!("{}: {v}", k.to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join("\r\n");
    (r.status, head, r.body)
}

/// Time to first contentful paint of `path` in headless Chromium, and the server's part of
/// it (the response's end), median and worst of 20 loads, from the browser's own Paint and
/// Navigation Timing; `None` when chromium or chromedriver is not installed.
fn first_paint(addr: &str, token: &str, path: &str) -> Option<serde_json::Value> {
    let b = browser::Browser::start()?;
    b.go(&format!("http://{addr}/login"));
    b.type_into("input[name=token]", token);
    b.type_into("input[name=reviewer]", "Bench");
    b.click("form[action='/login'] button");
    b.wait_for("Lead queue</h1>");
    // Paint entries come once the compositor has drawn a frame, which can be after the load
    // WebDriver waits for: an observer with `buffered` gets it either way.
    let script = "const done = arguments[arguments.length - 1]; \
                  const n = performance.getEntriesByType('navigation')[0]; \
                  new PerformanceObserver((list) => { \
                    const p = list.getEntries().find((e) => e.name === 'first-contentful-paint'); \
                    if (p) done([p.startTime, n.responseEnd]); \
                  }).observe({type: 'paint', buffered: true}); \
                  setTimeout(() => done([-1, n.responseEnd]), 5000);";
    let (mut paint, mut served) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        b.go(&format!("http://{addr}{path}"));
        let v = b.call(
            "POST",
            "/execute/async",
            json!({"script": script, "args": []}),
        );
        let (p, r) = (v[0].as_f64()?, v[1].as_f64()?);
        if p < 0.0 {
            return None;
        }
        paint.push(p);
        served.push(r);
    }
    paint.sort_by(f64::total_cmp);
    served.sort_by(f64::total_cmp);
    Some(
        json!({"median_ms": paint[10], "worst_ms": paint[19], "response_end_median_ms": served[10]}),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = std::path::PathBuf::from(&args[1]);
    let leads: usize = args[2].parse().expect("LEADS");
    let mut conn = spoor::store::open_store(&spoor::store::existing(&case).unwrap()).unwrap();
    // Leads on the network's identities, with hits of the size real ones have (~2 KB).
    let keys: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT key FROM network_nodes ORDER BY idx")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let rules = [
        "network-broker",
        "network-burner",
        "network-inner-core",
        "network-cross-device",
    ];
    let drafts: Vec<LeadDraft> = (0..leads)
        .map(|i| {
            let key = &keys[i % keys.len()];
            let rule = rules[i % rules.len()];
            let score = 100.0 - (i as f64) * 100.0 / leads as f64;
            LeadDraft {
                id: spoor::leads::identity_lead_id(&format!("{key}#{i}")),
                subject: Subject::Identity(format!("{key}#{i}")),
                item: None,
                score,
                rank: i as i64 + 1,
                part_of: None,
                hits: json!({
                    "subject": {"identity": key, "label": key},
                    "rules_version": "bench",
                    "score": {"total": score, "independent_groups": 1, "formula": "bench"},
                    "hits": [{"rule": rule, "title": "a rule", "weight": 15.0, "confidence": 1.0, "contribution": score,
                              "explanation": "x".repeat(600), "observations": [{"kind": "network.metrics", "words": "y".repeat(900)}]}],
                    "counter_indications": [],
                }),
            }
        })
        .collect();
    let clock = Instant::now();
    spoor::store::leads::replace_leads(&mut conn, &drafts, "bench").unwrap();
    let stored = clock.elapsed().as_secs_f64();
    drop(conn);

    let (tx, rx) = std::sync::mpsc::channel();
    let dir = case.clone();
    std::thread::spawn(move || {
        spoor::web::serve(dir, "127.0.0.1:0".parse().unwrap(), false, |url, token| {
            tx.send((url.to_string(), token.to_string())).unwrap();
        })
        .unwrap();
    });
    let (url, token) = rx.recv().unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/login")
        .to_string();
    let (_, head, _) = http(
        &addr,
        "POST",
        "/login",
        "",
        &format!("token={token}&reviewer=Bench"),
    );
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    // The hub of the network (largest degree) and a node of degree one.
    let hub = &keys[0];
    let mut out = serde_json::Map::new();
    out.insert("leads".into(), leads.into());
    out.insert("store_leads_s".into(), stored.into());
    let pages = leads.div_ceil(spoor::web::QUEUE_PAGE);
    let targets = [
        ("queue page 1", "/queue".to_string()),
        (
            "queue page in the middle",
            format!("/queue?page={}", pages / 2),
        ),
        (
            "queue filtered by rule",
            "/queue?rule=network-burner&page=3".to_string(),
        ),
        (
            "queue filtered by state and score",
            "/queue?state=proposed&min_score=50&page=2".to_string(),
        ),
        ("lead detail", format!("/lead/{}", drafts[leads / 2].id)),
        (
            "network depth 1 (hub)",
            format!(
                "/network?around={}&depth=1",
                hub.replace(':', "%3A").replace('+', "%2B")
            ),
        ),
        (
            "network depth 2 (hub)",
            format!(
                "/network?around={}&depth=2",
                hub.replace(':', "%3A").replace('+', "%2B")
            ),
        ),
        (
            "network depth 3 (hub)",
            format!(
                "/network?around={}&depth=3",
                hub.replace(':', "%3A").replace('+', "%2B")
            ),
        ),
        (
            "network depth 3 (a leaf)",
            format!(
                "/network?around={}&depth=3",
                keys[keys.len() - 1].replace(':', "%3A").replace('+', "%2B")
            ),
        ),
    ];
    for (name, path) in targets {
        let mut ms: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                let (status, _, body) = http(&addr, "GET", &path, &cookie, "");
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        out.insert(
            name.into(),
            json!({"median_ms": ms[10], "worst_ms": ms[19]}),
        );
    }
    if let Some(p) = first_paint(&addr, &token, &format!("/lead/{}", drafts[leads / 2].id)) {
        out.insert("lead detail, first paint in Chromium".into(), p);
    }
    println!("{}", serde_json::Value::Object(out));
}
