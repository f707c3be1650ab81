//! The review UI (issue 15) over HTTP, as a browser or an attacker on this machine would
//! reach it: log-in with the printed token, the queue, a lead with its blurred picture, a
//! reveal and a decision that land in the audit chain with the session's reviewer; and the
//! refusals: no session, a forged CSRF token, another Host, paths that try to leave the case,
//! a planted symbolic link, a non-loopback bind.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use browser::{Browser, Reply, request_as};

use common::{data, export, run, scan, spoor, stderr, stdout, write};

/// A case with a real photo (GPS, a known-bad hash) so that it has a lead with a thumbnail.
fn case_with_picture(dir: &Path) -> std::path::PathBuf {
    let evidence = dir.join("phone");
    std::fs::create_dir_all(evidence.join("DCIM")).unwrap();
    std::fs::copy(
        data("exif/DSCN0010.jpg"),
        evidence.join("DCIM/DSCN0010.jpg"),
    )
    .unwrap();
    let md5 = common::coreutils_digest("md5sum", &evidence.join("DCIM/DSCN0010.jpg"));
    write(
        &dir.join("bad.txt"),
        format!("{md5}  listed.jpg\n").as_bytes(),
    );
    let case = dir.join("case");
    let o = scan(
        &evidence,
        &case,
        "Tester",
        &["--hashset", dir.join("bad.txt").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    case
}

struct Server {
    child: Child,
    addr: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(case: &Path) -> Server {
    let mut child = spoor()
        .args(["serve", case.to_str().unwrap(), "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().nth(2).unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/login")
        .to_string();
    let token = second.trim_start_matches("access token: ").to_string();
    // Keep reading its output, so that it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, addr, token }
}

/// One HTTP/1.1 request, sent as written (no client normalises the path), read to the end.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    request_as(
        addr,
        method,
        path,
        headers,
        "application/x-www-form-urlencoded",
        body,
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

#[test]
fn review_in_the_browser_is_logged_and_refuses_what_it_must() {
    let tmp = tempfile::tempdir().unwrap();
    let case = case_with_picture(tmp.path());
    let lead = export(&case, "leads")
        .into_iter()
        .find(|l| {
            l["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "hashset-known-bad")
        })
        .unwrap();
    let id = lead["id"].as_str().unwrap().to_string();

    // Loopback only, unless asked.
    let o = run(&["serve", case.to_str().unwrap(), "--bind", "0.0.0.0:0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--allow-remote"), "{}", stderr(&o));

    let server = serve(&case);
    let a = server.addr.as_str();
    // No session: pages go to the log-in, actions are refused.
    let r = request(a, "GET", "/queue", &[], "");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let r = request(
        a,
        "POST",
        &format!("/lead/{id}/decide"),
        &[],
        &form(&[("csrf", "x"), ("decision", "confirm"), ("reason", "r")]),
    );
    assert_eq!(r.status, 403);
    // Another Host (DNS rebinding) is not answered.
    let r = request(a, "GET", "/login", &[("Host", "evil.example")], "");
    assert_eq!(r.status, 421);
    // A wrong token does not log in.
    let r = request(
        a,
        "POST",
        "/login",
        &[],
        &form(&[("token", "0000"), ("reviewer", "Mallory")]),
    );
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    let r = request(
        a,
        "POST",
        "/login",
        &[],
        &form(&[("token", &server.token), ("reviewer", "Rita Reviewer")]),
    );
    assert_eq!(r.status, 303);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(
        r.header("set-cookie").unwrap().contains("HttpOnly")
            && r.header("set-cookie").unwrap().contains("SameSite=Strict")
    );
    let with = [("Cookie", cookie.as_str())];

    let queue = request(a, "GET", "/queue", &with, "");
    assert_eq!(queue.status, 200);
    let page = queue.text();
    assert!(
        page.contains(&id) && page.contains("Rita Reviewer"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let filtered = request(a, "GET", "/queue?rule=keyword-hit", &with, "").text();
    assert!(
        !filtered.contains(&format!("/lead/{id}")),
        "a filter that selects nothing"
    );

    // The lead: its explanation and its picture, blurred.
    let detail = request(a, "GET", &format!("/lead/{id}"), &with, "").text();
    assert!(
        detail.contains("hashset-known-bad")
            && detail.contains("error margin")
            && detail.contains("blurred"),
        "{detail}"
    );
    let thumb = request(a, "GET", &format!("/lead/{id}/thumb"), &with, "");
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, Some("image/jpeg"))
    );
    let key = lead["thumbnail_key"].as_str().unwrap();
    let stored = std::fs::read(
        case.join("thumbs")
            .join(&key[..2])
            .join(format!("{key}.jpg")),
    )
    .unwrap();
    assert_ne!(
        thumb.body, stored,
        "the thumbnail is served blurred, never as stored"
    );

    // A forged CSRF token changes nothing; a decision without a reason neither.
    let r = request(
        a,
        "POST",
        &format!("/lead/{id}/decide"),
        &with,
        &form(&[
            ("csrf", &"0".repeat(64)),
            ("decision", "confirm"),
            ("reason", "looks bad"),
        ]),
    );
    assert_eq!(r.status, 403);
    let r = request(
        a,
        "POST",
        &format!("/lead/{id}/decide"),
        &with,
        &form(&[("csrf", &csrf), ("decision", "confirm"), ("reason", "  ")]),
    );
    assert!(r.status == 409 || r.status == 400, "{}", r.status);
    assert!(
        export(&case, "leads")
            .iter()
            .all(|l| l["state"] == "proposed")
    );

    // Reveal: the real picture in the page, and the audit chain says who looked and why.
    let r = request(
        a,
        "POST",
        &format!("/lead/{id}/reveal"),
        &with,
        &form(&[("csrf", &csrf), ("reason", "to compare with the list")]),
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains("src=\"data:image/jpeg;base64,"));
    // Confirm: the reviewer is the session's, whatever the form says.
    let r = request(
        a,
        "POST",
        &format!("/lead/{id}/decide"),
        &with,
        &form(&[
            ("csrf", &csrf),
            ("decision", "confirm"),
            ("reason", "viewed; matches the list"),
            ("reviewer", "Mallory"),
        ]),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let confirmed = export(&case, "leads")
        .into_iter()
        .find(|l| l["id"] == id.as_str())
        .unwrap();
    assert_eq!(confirmed["state"], "confirmed");
    let log = stdout(&run(&["audit", "log", case.to_str().unwrap()]));
    let reveal = log
        .lines()
        .find(|l| l.contains("\"reveal\""))
        .expect("a reveal entry");
    assert!(
        reveal.contains("Rita Reviewer") && reveal.contains("to compare with the list"),
        "{reveal}"
    );
    let decided = log
        .lines()
        .filter(|l| l.contains("viewed; matches the list"))
        .collect::<Vec<_>>();
    assert_eq!(decided.len(), 1, "{log}");
    assert!(decided[0].contains("Rita Reviewer") && !decided[0].contains("Mallory"));
    let audit = request(a, "GET", "/audit", &with, "").text();
    assert!(
        audit.contains("intact") && audit.contains("reveal"),
        "{audit}"
    );

    // Paths that try to leave the case: none reaches a file.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/assets//etc/passwd",
        "/lead/..%2f..%2fcase.sqlite",
        "/lead/%2fetc%2fpasswd/thumb",
        "/item/..%2f1",
        "/item/1%2f..%2f..%2fetc%2fpasswd",
        "/thumbs/00/x.jpg",
        "/case.sqlite",
        "//etc/passwd",
    ] {
        let r = request(a, "GET", path, &with, "");
        assert!(matches!(r.status, 400 | 404), "{path}: {}", r.status);
        let body = r.text();
        assert!(
            !body.contains("[package]")
                && !body.contains("root:")
                && !body.contains("SQLite format"),
            "{path}"
        );
    }
    // A thumbnail replaced by a symbolic link is refused, not followed.
    let stored_path = case
        .join("thumbs")
        .join(&key[..2])
        .join(format!("{key}.jpg"));
    std::fs::remove_file(&stored_path).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &stored_path).unwrap();
    let r = request(a, "GET", &format!("/lead/{id}/thumb"), &with, "");
    assert!(
        r.status >= 400 && !r.text().contains("root:"),
        "{}",
        r.status
    );

    // Log out: the session is gone.
    let r = request(a, "POST", "/logout", &with, &form(&[("csrf", &csrf)]));
    assert_eq!(r.status, 303);
    let r = request(a, "GET", "/queue", &with, "");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
}

/// A headless Chromium driven through chromedriver's W3C WebDriver endpoints (the same JSON
/// a WebDriver crate would send, over the test's own HTTP client).
/// The demo's case (four devices, communications, the network), scanned without models.
fn demo_case(dir: &Path) -> std::path::PathBuf {
    let ev = dir.join("ev");
    assert_eq!(
        run(&["demo-data", ev.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let case = dir.join("case");
    let e = |p: &str| ev.join(p).to_str().unwrap().to_string();
    let mut args: Vec<String> = ["laptop-bram", "phone-anna", "phone-kees", "usb-stick"]
        .iter()
        .map(|d| e(d))
        .collect();
    args.insert(0, "scan".into());
    for a in [
        "--case".to_string(),
        case.to_str().unwrap().into(),
        "--examiner".into(),
        "Tester".into(),
        "--hashset".into(),
        format!("{}:bad:CAT-DEMO", e("hashsets/demo-known-bad.txt")),
        "--places-of-interest".into(),
        e("lists/places-of-interest.csv"),
        "--watchlist".into(),
        e("lists/watchlist.txt"),
        "--region".into(),
        "NL".into(),
    ] {
        args.push(a);
    }
    for o in spoor::demo::OWNERS {
        args.push("--owner".into());
        args.push(o.to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{}",
        stderr(&o)
    );
    case
}

#[test]
fn a_reviewer_works_through_the_ui_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let case = demo_case(tmp.path());
    // The case was scanned without models: a detection as NanoDet writes it is stored on each
    // photo with GPS, so that the item view has a box to draw (box in the picture's pixels,
    // the picture 640x480, as the detector records it).
    let db = rusqlite::Connection::open(case.join("case.sqlite")).unwrap();
    let planted = db
        .execute(
            "INSERT INTO observations (item_id, subject, kind, analyzer, analyzer_version, value, confidence, provenance)
             SELECT item_id, 'item', 'image.object', 'test-detector', '1',
                    '{\"label\":\"bicycle\",\"count\":1,\"score\":0.68,\"boxes\":[{\"score\":0.68,\"box\":[64,48,320,240]}],\"frame\":[640,480]}',
                    0.68, '{}'
             FROM observations WHERE kind = 'image.gps'",
            [],
        )
        .unwrap();
    assert!(planted >= 2);
    drop(db);
    let server = serve(&case);
    let base = format!("http://{}", server.addr);

    // Log in with the printed token.
    browser.go(&format!("{base}/queue"));
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    browser.screenshot("login");
    browser.type_into("input[name=token]", &server.token);
    browser.type_into("input[name=reviewer]", "Bea Browser");
    browser.click("form[action='/login'] button");
    let queue = browser.wait_for("lead(s); page");
    assert!(browser.url().ends_with("/queue"));
    assert!(
        queue.contains("Bea Browser") && queue.contains("picture-cluster"),
        "{queue}"
    );
    assert!(browser.screenshot("queue") > 10_000);

    // The first lead of the queue, its picture blurred; reveal it with a reason.
    let leads = export(&case, "leads");
    let cluster = leads
        .iter()
        .find(|l| l["subject"] == "picture-cluster")
        .unwrap();
    let id = cluster["id"].as_str().unwrap();
    browser.click(&format!("a[href='/lead/{id}']"));
    let detail = browser.wait_for("Why it was proposed");
    assert!(
        detail.contains("flagged-picture-on-several-devices") && detail.contains("blurred"),
        "{detail}"
    );
    browser.screenshot("lead");
    browser.type_into(
        "form[action$='/reveal'] input[name=reason]",
        "to check the copies",
    );
    browser.click("form[action$='/reveal'] button");
    browser.wait_for("data:image/jpeg;base64,");
    browser.screenshot("lead-revealed");
    // Confirm it with a reason.
    browser.type_into(
        "form.decide input[name=reason]",
        "four copies of the listed picture",
    );
    browser.click("form.decide button");
    browser.wait_for("four copies of the listed picture");
    let state = |lead: &str| {
        export(&case, "leads")
            .into_iter()
            .find(|l| l["id"] == lead)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state(id), "confirmed");

    // Keyboard review on the queue: a reason, then j (next) and r (reject).
    browser.go(&format!("{base}/queue"));
    browser.type_into("#quick-reason", "not relevant to this case");
    let second = browser.find("#queue tr.lead:nth-of-type(3)");
    let second_id = browser.call(
        "GET",
        &format!("/element/{second}/attribute/data-id"),
        serde_json::Value::Null,
    );
    let body = browser.find("body");
    browser.call(
        "POST",
        &format!("/element/{body}/value"),
        serde_json::json!({"text": "jr"}),
    );
    // The form posts and the page reloads; the decision is in the case within seconds.
    let rejected = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        state(second_id.as_str().unwrap()) == "rejected"
    });
    assert!(rejected, "the second row, rejected by key");

    // The audit log shows both decisions and the reveal, by the session's reviewer.
    browser.click("nav a[href='/audit']");
    let audit = browser.wait_for("The chain is");
    assert!(
        audit.contains("reveal") && audit.contains("Bea Browser") && audit.contains("intact"),
        "{audit}"
    );
    browser.screenshot("audit");

    // The network around Bram, with the path to the second burner drawn.
    browser.go(&format!(
        "{base}/network?around=device-owner%3Alaptop-bram&depth=2&to=tel%3A%2B31644444444"
    ));
    let network = browser.source();
    assert!(
        network.contains("<svg")
            && network.contains("Earliest time-respecting path")
            && network.contains("stroke=\"#d00\""),
        "{network}"
    );
    assert!(browser.screenshot("network") > 20_000);

    // From the network to an identity's records: the burner's messages, each with its item.
    browser.go(&format!(
        "{base}/network?around=tel%3A%2B31633333333&depth=1"
    ));
    browser.click("#identity-records");
    let records = browser.wait_for("record(s) behind its ties");
    assert!(
        records.contains("Tonight, 22:00, pier 4")
            && records.contains("phone-anna:Backups/sms-20240302.xml")
            && records.contains("href=\"/item/"),
        "{records}"
    );
    browser.screenshot("identity-records");

    // The map: the square, the two photos taken there, the basemap's outlines; a photo
    // leads to its item, with its EXIF and observations.
    browser.click("nav a[href='/map']");
    let map = browser.wait_for("picture(s) with GPS");
    assert!(
        map.contains("Handover square")
            && map.contains("<path")
            && map.contains("2 picture(s) with GPS"),
        "{map}"
    );
    browser.screenshot("map");
    // 40 m apart, the photos may share a cluster: it zooms in, then a photo opens.
    let singles = |b: &Browser| {
        b.call(
            "POST",
            "/elements",
            serde_json::json!({"using": "css selector", "value": "svg#map a[href^='/item/']"}),
        )
        .as_array()
        .map_or(0, Vec::len)
    };
    if singles(&browser) == 0 {
        browser.click("svg#map a[href^='/map']");
        // The zoomed page is there when its two photos stand apart.
        for _ in 0..50 {
            if singles(&browser) == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        browser.screenshot("map-zoomed");
        assert_eq!(
            singles(&browser),
            2,
            "zoomed in, the two photos stand apart"
        );
    }
    browser.click("svg#map a[href^='/item/']");
    let item = browser.wait_for("Observations");
    assert!(
        item.contains("image.gps") && item.contains("image.exif"),
        "{item}"
    );
    // The planted box, drawn over the thumbnail at a tenth to a half of the frame: its
    // rendered size follows the thumbnail's, whatever the frame's.
    let drawn = browser.call(
        "POST",
        "/execute/sync",
        serde_json::json!({"script": "const p = document.querySelector('svg.outlines polygon.o-object'); const i = document.querySelector('div.picture img'); if (!p || !i) return null; const a = p.getBoundingClientRect(), b = i.getBoundingClientRect(); return [(a.left - b.left) / b.width, (a.top - b.top) / b.height, a.width / b.width, a.height / b.height];", "args": []}),
    );
    let fractions: Vec<f64> = drawn
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    assert_eq!(fractions.len(), 4, "no box drawn: {drawn} {item}");
    for (got, want) in fractions.iter().zip([0.1, 0.1, 0.4, 0.4]) {
        assert!(
            (got - want).abs() < 0.03,
            "box at {fractions:?}, not 0.1, 0.1, 0.4, 0.4"
        );
    }
    browser.screenshot("item");
}
