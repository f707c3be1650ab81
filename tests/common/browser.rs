//! A client for the review UI's tests and benchmark, shared by tests/web.rs and
//! examples/web_rate.rs (`#[path]`): one raw HTTP/1.1 request (sent as written, so that a
//! test can send what no client library would), and a W3C WebDriver session of headless
//! Chromium through chromedriver.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request, read to the end of its body.
pub fn request_as(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &str,
) -> Reply {
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
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // Read the head, then the body by its Content-Length (a server may keep the connection
    // open whatever `Connection: close` asked), else to the end.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&chunk[..n]);
    };
    let length = String::from_utf8_lossy(&raw[..split])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    match length {
        Some(len) => {
            while raw.len() < split + 4 + len {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed inside the body");
                raw.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            s.read_to_end(&mut raw).unwrap();
        }
    }
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

pub struct Browser {
    driver: Child,
    pub addr: String,
    pub session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request_as(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            &[],
            "application/json",
            "",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

impl Browser {
    pub fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium and chromedriver are needed under CI (scripts/test.sh installs them)"
            );
            eprintln!(
                "SKIPPED: chromium or chromedriver is not installed (scripts/test.sh installs them)"
            );
            return None;
        };
        // Port 0: chromedriver picks a free one and says which (a port chosen here and
        // released could be taken by another test's server in between).
        let mut child = std::process::Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut port = None;
        let mut line = String::new();
        while port.is_none() && out.read_line(&mut line).unwrap() > 0 {
            port = line
                .trim()
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok());
            line.clear();
        }
        // Keep reading its output, so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = format!("127.0.0.1:{}", port.expect("chromedriver's port"));
        // Ready when its status says so (a connection alone can come before it is).
        let ready = |addr: &str| {
            TcpStream::connect(addr).is_ok()
                && std::panic::catch_unwind(|| {
                    request_as(addr, "GET", "/status", &[], "application/json", "")
                })
                .is_ok_and(|r| r.text().contains("\"ready\":true"))
        };
        for _ in 0..100 {
            if ready(&addr) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]}}}});
        let r = request_as(
            &addr,
            "POST",
            "/session",
            &[],
            "application/json",
            &caps.to_string(),
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        let mut b = Browser {
            driver: child,
            addr,
            session,
        };
        b.driver.stdin.take();
        Some(b)
    }

    pub fn call(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = request_as(
            &self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            &[],
            "application/json",
            &if method == "POST" {
                body.to_string()
            } else {
                String::new()
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", serde_json::json!({ "url": url }));
    }

    pub fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            serde_json::json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            serde_json::json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/click"),
            serde_json::json!({}),
        );
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", serde_json::Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The page source once it contains `text` (a click that submits a form returns before
    /// the next page is there), within five seconds.
    pub fn wait_for(&self, text: &str) -> String {
        for _ in 0..50 {
            let src = self.source();
            if src.contains(text) {
                return src;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the page never showed {text:?}: {}", self.source());
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", serde_json::Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Saves a screenshot under target/ (not committed) and returns its size in bytes.
    pub fn screenshot(&self, name: &str) -> usize {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", serde_json::Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = Path::new(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp"))
            .join("web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &bytes).unwrap();
        bytes.len()
    }
}
