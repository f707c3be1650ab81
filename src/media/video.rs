//! Video keyframes through the `ffmpeg` program (Debian's `ffmpeg` package).
//!
//! One ffmpeg process per video reads the file through a pipe that spoor fills from its own
//! descriptor (opened with `O_NOATIME`), with ffmpeg's `cache:` protocol in front so that MP4s
//! with the index at the end can still seek back. ffmpeg is not handed the file itself: given
//! `/dev/stdin` it reopened the descriptor without `O_NOATIME`, and the evidence's access time
//! moved (issue 11.8). `cache:` keeps what it has read in an unlinked temporary file (in
//! TMPDIR), at most the video's size, gone when ffmpeg ends. ffmpeg writes the
//! selected frames as PPM images to a pipe; `showinfo` on stderr gives each frame's
//! presentation time. Frames are handed to a callback one at a time, so a long video never
//! holds more than one decoded frame here.
//!
//! Selection: the first frame, every frame whose scene-change score (ffmpeg's `scene`, the mean
//! absolute difference to the previous frame, 0..1) is over a threshold, and a frame whenever
//! `interval` seconds have passed since the last one kept; scene changes closer than `min_gap`
//! to the last kept frame are skipped (a strobe or a corrupt stretch would otherwise yield a
//! frame per frame), and at most `max_frames` are kept per video.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What ffmpeg reads: its stdin (a pipe spoor fills), behind a cache that makes it seekable.
const INPUT: &str = "cache:pipe:0";

/// How keyframes are chosen; `spoor scan --frame-interval / --scene-threshold / --max-frames`.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoOptions {
    /// A frame at least this often (seconds), scene change or not.
    pub interval: f64,
    /// ffmpeg scene score above which a frame starts a new shot. 0.3 is the value ffmpeg's
    /// documentation and most shot-detection recipes use.
    pub scene_threshold: f64,
    /// Scene changes closer than this (seconds) to the last kept frame are not kept.
    pub min_gap: f64,
    /// Frames kept per video at most; the rest of the video is reported as not examined.
    pub max_frames: usize,
    /// Wall-clock limit for one video (a hostile file can make a decoder crawl).
    pub timeout: Duration,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            interval: 5.0,
            scene_threshold: 0.3,
            min_gap: 1.0,
            max_frames: 500,
            timeout: Duration::from_secs(600),
        }
    }
}

/// One kept frame, RGB, at its presentation time.
pub struct Frame {
    /// Order among the kept frames of this video, from 0.
    pub index: usize,
    /// Presentation time in seconds from the start of the stream, as ffmpeg reports it.
    pub timestamp: Option<f64>,
    pub image: image::RgbImage,
}

/// What ffmpeg said about the video besides its frames.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct VideoInfo {
    pub container: Option<String>,
    pub duration: Option<f64>,
    /// The first video stream's line, e.g. "h264 (High) (avc1 / 0x31637661), yuv420p, 640x360".
    pub stream: Option<String>,
    pub frames_kept: usize,
    /// True when `max_frames` stopped the extraction early.
    pub truncated: bool,
}

/// The ffmpeg to run: `SPOOR_FFMPEG` when set, else `ffmpeg` from PATH.
fn ffmpeg_program() -> String {
    std::env::var("SPOOR_FFMPEG").unwrap_or_else(|_| "ffmpeg".into())
}

/// ffmpeg's version line ("ffmpeg version 5.1.6-0+deb12u1"), or why it cannot be run. Asked
/// once per process.
pub fn ffmpeg_version() -> Result<&'static str, &'static str> {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let program = ffmpeg_program();
            match Command::new(&program)
                .arg("-version")
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
            {
                Ok(out) if out.status.success() => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    let line = text.lines().next().unwrap_or("ffmpeg").trim();
                    // "ffmpeg version 5.1.6-0+deb12u1 Copyright ..." -> up to the copyright.
                    let short = line.split(" Copyright").next().unwrap_or(line);
                    Ok(short.to_string())
                }
                Ok(out) => Err(format!("{program} -version exited with {}", out.status)),
                Err(e) => Err(format!(
                    "{program} cannot be run ({e}); install the ffmpeg package (or set SPOOR_FFMPEG)"
                )),
            }
        })
        .as_ref()
        .map(|s| s.as_str())
        .map_err(|s| s.as_str())
}

/// Extensions under which a file is tried as video even when its content has no signature
/// we know (a renamed or damaged video should still be tried, and fail loudly).
const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "qt", "avi", "mkv", "webm", "3gp", "3g2", "wmv", "mpg", "mpeg", "flv",
    "ts", "mts", "m2ts",
];

/// Whether an item goes to the keyframe stage: content typed as video, an ISO-BMFF file of a
/// 3GPP or QuickTime brand (which `infer` does not name), or a video extension on content
/// whose type nothing recognised.
pub fn is_video_candidate(path: &[u8], head: &[u8], mime: &str, by_signature: bool) -> bool {
    if mime.starts_with("video/") {
        return true;
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") || brand == b"qt  " {
            return true;
        }
    }
    if by_signature {
        return false;
    }
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let ext = name
        .rsplit(|&b| b == b'.')
        .next()
        .filter(|e| e.len() < name.len());
    ext.map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

/// The `select` expression for the options (commas escaped for the filter graph).
fn select_expression(opts: &VideoOptions) -> String {
    format!(
        "select='eq(n\\,0)+gte(t-prev_selected_t\\,{interval})+gt(scene\\,{scene})*gte(t-prev_selected_t\\,{gap})'",
        interval = opts.interval,
        scene = opts.scene_threshold,
        gap = opts.min_gap
    )
}

// Long (~142 lines) on purpose: ffmpeg's process, its stdout of PPM frames and its stderr are
// driven together in one loop with the time and frame bounds; split, they would share a dozen
// handles and counters.
/// Runs ffmpeg over `file` and calls `on_frame` for each kept frame, in order. Returns what
/// ffmpeg said about the video and the problems met on the way (a decoder error in the middle
/// of a video keeps the frames before it). `Err` when no frame at all could be had.
pub fn keyframes(
    file: std::fs::File,
    opts: &VideoOptions,
    stop: &AtomicBool,
    max_frame_bytes: u64,
    on_frame: &mut dyn FnMut(Frame),
) -> Result<(VideoInfo, Vec<String>), String> {
    ffmpeg_version().map_err(|e| e.to_string())?;
    let filter = format!("{},showinfo", select_expression(opts));
    let mut child = Command::new(ffmpeg_program())
        .args(["-hide_banner", "-nostdin", "-loglevel", "info"])
        .args(["-i", INPUT])
        .args(["-map", "0:v:0", "-an", "-sn", "-dn"])
        .args(["-vf", &filter, "-fps_mode", "vfr"])
        .args([
            "-f",
            "image2pipe",
            "-c:v",
            "ppm",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ffmpeg could not be started: {e}"))?;
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let stderr = child.stderr.take().expect("stderr was piped");

    let (ts_tx, ts_rx) = mpsc::channel::<f64>();
    let finished = AtomicBool::new(false);
    let killed_for = std::sync::Mutex::new(None::<String>);
    let deadline = Instant::now() + opts.timeout;
    let mut info = VideoInfo::default();
    let mut problems = Vec::new();

    let outcome = std::thread::scope(|scope| {
        let log = scope.spawn(move || read_log(stderr, ts_tx));
        // The feeder: our descriptor into ffmpeg's pipe. It ends at the end of the file, or
        // when ffmpeg stops reading (done, killed: the write fails with a broken pipe).
        scope.spawn(move || {
            let mut file = file;
            let _ = std::io::copy(&mut file, &mut stdin);
        });
        // The watchdog: ffmpeg is killed on Ctrl-C, at the time limit, or when we stop early.
        let watchdog = scope.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                let reason = if stop.load(Ordering::Relaxed) {
                    Some("scan cancelled".to_string())
                } else if Instant::now() >= deadline {
                    Some(format!(
                        "ffmpeg ran past the {} s limit for one video and was stopped",
                        opts.timeout.as_secs()
                    ))
                } else {
                    None
                };
                if let Some(reason) = reason {
                    *killed_for.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
                    kill(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let mut read_error = None;
        loop {
            match read_ppm(&mut stdout, max_frame_bytes) {
                Ok(None) => break,
                Ok(Some(image)) => {
                    let timestamp = ts_rx.recv_timeout(Duration::from_secs(5)).ok();
                    on_frame(Frame {
                        index: info.frames_kept,
                        timestamp,
                        image,
                    });
                    info.frames_kept += 1;
                    if info.frames_kept >= opts.max_frames {
                        info.truncated = true;
                        break;
                    }
                }
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        if info.truncated || read_error.is_some() {
            kill(pid);
        }
        drop(stdout);
        let status = child.wait();
        finished.store(true, Ordering::Relaxed);
        let _ = watchdog.join();
        let log = log.join().unwrap_or_default();
        (status, read_error, log)
    });
    let (status, read_error, log) = outcome;
    info.container = log.container.clone();
    info.duration = log.duration;
    info.stream = log.stream.clone();
    if let Some(reason) = killed_for.into_inner().unwrap_or_else(|p| p.into_inner()) {
        problems.push(reason);
    }
    if let Some(e) = read_error {
        problems.push(format!("frame stream from ffmpeg: {e}"));
    }
    if info.truncated {
        problems.push(format!(
            "more than {} keyframes; the rest of the video was not examined (raise --max-frames)",
            opts.max_frames
        ));
    }
    let failed = match status {
        Ok(s) => !s.success() && !info.truncated,
        Err(_) => true,
    };
    if failed {
        let said = if !log.errors.is_empty() {
            log.errors.join(" | ")
        } else if !log.tail.is_empty() {
            log.tail.iter().cloned().collect::<Vec<_>>().join(" | ")
        } else {
            "no message".to_string()
        };
        problems.push(format!("ffmpeg failed: {said}"));
    } else if !log.errors.is_empty() {
        // Decoding went on past damaged packets; the frames are kept, the damage is said.
        problems.push(format!("ffmpeg reported: {}", log.errors.join(" | ")));
    }
    if info.frames_kept == 0 {
        return Err(problems
            .pop()
            .unwrap_or_else(|| "ffmpeg decoded no frame".into()));
    }
    Ok((info, problems))
}

fn kill(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[derive(Default)]
struct LogFacts {
    container: Option<String>,
    duration: Option<f64>,
    stream: Option<String>,
    /// Lines that look like errors, at most `MAX_ERROR_LINES`.
    errors: Vec<String>,
    /// The last lines of all, for a failure that printed nothing error-like.
    tail: std::collections::VecDeque<String>,
}

const MAX_ERROR_LINES: usize = 5;

/// Reads ffmpeg's stderr: frame times go to `times` as they come, the rest is summarised.
fn read_log(stderr: std::process::ChildStderr, times: mpsc::Sender<f64>) -> LogFacts {
    let mut facts = LogFacts::default();
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        // ffmpeg ends progress lines with '\r'; lines are short, but a hostile file can put
        // anything into metadata ffmpeg prints, so a line is cut at 4 KB.
        match reader.by_ref().take(4096).read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = without_addresses(&String::from_utf8_lossy(&raw)).replace(INPUT, "input");
        let line = line.trim();
        if line.contains("Inner protocol failed to seekback end")
            || line.starts_with("Last message repeated")
        {
            // `cache:` asking a pipe for its size: expected, not damage.
            continue;
        }
        if line.contains("Parsed_showinfo") {
            if let Some(t) = field(line, "pts_time:").and_then(|v| v.parse::<f64>().ok()) {
                let _ = times.send(t);
            }
        } else if let Some(rest) = line.strip_prefix("Input #0, ") {
            facts.container = rest.split(", from").next().map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("Duration: ") {
            facts.duration = rest.split(',').next().and_then(parse_clock);
        } else if line.starts_with("Stream #0:") && line.contains(": Video: ") {
            if facts.stream.is_none() {
                facts.stream = line
                    .split(": Video: ")
                    .nth(1)
                    .map(|s| crate::evidence::sanitize(&s.chars().take(200).collect::<String>()));
            }
        } else if !line.is_empty() {
            let kept = crate::evidence::sanitize(&line.chars().take(300).collect::<String>());
            if looks_like_error(line) && facts.errors.len() < MAX_ERROR_LINES {
                facts.errors.push(kept.clone());
            }
            if facts.tail.len() == 3 {
                facts.tail.pop_front();
            }
            facts.tail.push_back(kept);
        }
    }
    facts
}

/// "[h264 @ 0x55d0c1a2b3c0] msg" -> "[h264] msg": the address differs on every run, and an
/// error record must read the same when the same file fails again.
fn without_addresses(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(" @ 0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 5..];
        let hex_len = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        rest = &after[hex_len..];
    }
    out.push_str(rest);
    out
}

fn looks_like_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error",
        "invalid",
        "moov atom not found",
        "could not",
        "does not contain any stream",
        "matches no streams",
        "corrupt",
        "no such",
        "truncat",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)? + name.len();
    line[at..].split_whitespace().next()
}

/// "00:01:02.50" -> 62.5
fn parse_clock(s: &str) -> Option<f64> {
    let mut total = 0.0;
    for part in s.trim().split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(total)
}

/// One binary PPM (P6, maxval 255) from the stream; `None` at a clean end.
fn read_ppm(r: &mut impl Read, max_bytes: u64) -> Result<Option<image::RgbImage>, String> {
    let mut fields = Vec::new();
    let mut token = Vec::new();
    let mut byte = [0u8; 1];
    // Magic, width, height, maxval: whitespace-separated tokens, then one whitespace byte.
    while fields.len() < 4 {
        match r.read(&mut byte) {
            Ok(0) if fields.is_empty() && token.is_empty() => return Ok(None),
            Ok(0) => return Err("ended inside a frame header".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        if byte[0].is_ascii_whitespace() {
            if !token.is_empty() {
                fields.push(String::from_utf8_lossy(&token).into_owned());
                token.clear();
            }
        } else if token.len() < 16 {
            token.push(byte[0]);
        } else {
            return Err("frame header token too long".into());
        }
    }
    if fields[0] != "P6" || fields[3] != "255" {
        return Err(format!("unexpected frame header {:?}", fields));
    }
    let (Ok(width), Ok(height)) = (fields[1].parse::<u32>(), fields[2].parse::<u32>()) else {
        return Err(format!("unexpected frame size {:?}", &fields[1..3]));
    };
    let bytes = width as u64 * height as u64 * 3;
    if width == 0 || height == 0 || bytes > max_bytes {
        return Err(format!(
            "frame of {width}x{height} is over the {} MiB limit",
            max_bytes >> 20
        ));
    }
    let mut pixels = vec![0u8; bytes as usize];
    r.read_exact(&mut pixels)
        .map_err(|e| format!("ended inside a frame: {e}"))?;
    Ok(image::RgbImage::from_raw(width, height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppm_stream_is_split_into_frames() {
        let mut stream = b"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06".to_vec();
        stream.extend_from_slice(b"P6\n1 1\n255\n\x07\x08\x09");
        let mut r = std::io::Cursor::new(stream);
        let a = read_ppm(&mut r, 1 << 20).unwrap().unwrap();
        assert_eq!((a.width(), a.height()), (2, 1));
        assert_eq!(a.get_pixel(1, 0).0, [4, 5, 6]);
        let b = read_ppm(&mut r, 1 << 20).unwrap().unwrap();
        assert_eq!(b.get_pixel(0, 0).0, [7, 8, 9]);
        assert!(read_ppm(&mut r, 1 << 20).unwrap().is_none());
    }

    #[test]
    fn ppm_over_limit_or_cut_short_is_an_error() {
        let mut r = std::io::Cursor::new(b"P6\n100000 100000\n255\n".to_vec());
        assert!(read_ppm(&mut r, 1 << 30).unwrap_err().contains("limit"));
        let mut r = std::io::Cursor::new(b"P6\n2 2\n255\n\x01\x02".to_vec());
        assert!(
            read_ppm(&mut r, 1 << 20)
                .unwrap_err()
                .contains("inside a frame")
        );
    }

    #[test]
    fn log_lines_lose_their_addresses() {
        assert_eq!(
            without_addresses("[h264 @ 0x55d0c1a2b3c0] Invalid NAL unit size"),
            "[h264] Invalid NAL unit size"
        );
    }

    #[test]
    fn clock_and_candidates() {
        assert_eq!(parse_clock("00:01:02.50"), Some(62.5));
        assert!(is_video_candidate(b"a/clip.bin", b"", "video/mp4", true));
        assert!(is_video_candidate(
            b"x",
            b"\0\0\0\x18ftyp3gp4\0\0\0\0",
            "application/octet-stream",
            false
        ));
        // A text file named .mp4 is tried (and will fail loudly); a JPEG named .mp4 is not.
        assert!(is_video_candidate(
            b"d/fake.MP4",
            b"hello",
            "text/plain",
            false
        ));
        assert!(!is_video_candidate(
            b"d/photo.mp4",
            b"\xff\xd8\xff",
            "image/jpeg",
            true
        ));
        assert!(!is_video_candidate(
            b"d/notes.txt",
            b"hello",
            "text/plain",
            false
        ));
    }
}
