//! The review UI (issue 15) over HTTP, as a browser or an attacker on this machine would
//! reach it: log-in with the printed token, the queue, a lead with its blurred picture, a
//! reveal and a decision that land in the audit chain with the session's reviewer; and the
//! refusals: no session, a forged CSRF token, another Host, paths that try to leave the case,
//! a planted symbolic link, a non-loopback bind.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

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
    Server { child, addr, token }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request, sent as written (no client normalises the path), read to the end.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
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
