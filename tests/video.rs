//! Video keyframes through ffmpeg: child items with their time, per-frame PDQ against Meta's
//! vPDQ reference hashes, every container the issue names, and the bad videos.
//!
//! Fixtures (tests/data/video/SOURCES.md): two of Meta's TMK sample videos with the vPDQ
//! hashes Meta published for every frame, and one of them remuxed (no re-encoding) into MKV,
//! AVI, MOV and 3GP.

mod common;

use std::path::Path;

use common::{data, expect_code, export, run};
use spoor::media::pdq::PdqHash;

fn scan(evidence: &Path, case: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--quiet"];
    args.extend_from_slice(extra);
    common::scan(evidence, case, "Test Examiner", &args)
}

fn copy(name: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(data(&format!("video/{name}")), to.join(name)).unwrap();
}

/// (timestamp, quality, hash) per frame, from vPDQ's `frame,quality,hash,timestamp` lines.
fn vpdq(name: &str) -> Vec<(f64, i64, PdqHash)> {
    std::fs::read_to_string(data(&format!("video/vpdq-{name}.txt")))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[3].parse().unwrap(),
                c[1].parse().unwrap(),
                PdqHash::from_hex(c[2]).unwrap(),
            )
        })
        .collect()
}

#[test]
fn keyframes_are_child_items_whose_pdq_matches_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    copy("doorknob-hd-no-bar.mp4", &ev);
    copy("test-padded-dimensions.mp4", &ev);
    // One frame every half second and no scene cuts: the times are then known in advance.
    let o = scan(
        &ev,
        &case,
        &["--frame-interval", "0.5", "--scene-threshold", "1"],
    );
    expect_code(&o, 0, "scan of two good videos");

    let items = export(&case, "items");
    let frames: Vec<_> = items
        .iter()
        .filter(|i| i["kind"] == "video-frame")
        .collect();
    let of = |video: &str| {
        frames
            .iter()
            .filter(|f| f["parent_path"] == video)
            .collect::<Vec<_>>()
    };
    // doorknob is 4.33 s long, the padded one 5.0 s.
    assert_eq!(of("doorknob-hd-no-bar.mp4").len(), 8, "{frames:?}");
    assert_eq!(of("test-padded-dimensions.mp4").len(), 10);
    let first = of("test-padded-dimensions.mp4")[0];
    assert_eq!(
        first["path"],
        "test-padded-dimensions.mp4//frame-0000@0.000s"
    );
    assert_eq!(first["derivation"]["timestamp_s"], 0.0);
    assert_eq!(first["derivation"]["what"], "video keyframe");
    assert_eq!(
        (
            first["derivation"]["width"].as_u64(),
            first["derivation"]["height"].as_u64()
        ),
        (Some(1080), Some(1080))
    );
    // A frame has no file digest (it is not a file); the parent keeps its own.
    assert!(first["sha256"].is_null());

    let obs = export(&case, "observations");
    let mut compared = 0;
    let mut worst = 0;
    for (video, reference) in [
        ("doorknob-hd-no-bar", vpdq("doorknob-hd-no-bar")),
        ("test-padded-dimensions", vpdq("test-padded-dimensions")),
    ] {
        for f in of(&format!("{video}.mp4")) {
            let t = f["derivation"]["timestamp_s"].as_f64().unwrap();
            let pdq = obs
                .iter()
                .find(|o| o["path"] == f["path"] && o["kind"] == "image.pdq")
                .unwrap_or_else(|| panic!("no PDQ for {}", f["path"]));
            let (rt, rq, rh) = reference
                .iter()
                .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                .unwrap();
            assert!(
                (rt - t).abs() < 0.02,
                "{video} at {t}: nearest vPDQ frame at {rt}"
            );
            // Quality is computed from the same pixels: it must agree exactly.
            assert_eq!(
                pdq["value"]["quality"].as_i64(),
                Some(*rq),
                "{video} at {t}"
            );
            // Dark frames (quality < 50) have no usable hash, as Meta says; the rest must match.
            if *rq >= 50 {
                let ours = PdqHash::from_hex(pdq["value"]["hash"].as_str().unwrap()).unwrap();
                let d = ours.hamming(rh);
                worst = worst.max(d);
                assert!(d <= 16, "{video} at {t}: {d} bits from vPDQ");
                compared += 1;
            }
        }
    }
    assert!(compared >= 14, "only {compared} frames compared");
    eprintln!("{compared} frames, worst distance to vPDQ {worst} bits");

    let keyframes = obs
        .iter()
        .find(|o| o["path"] == "doorknob-hd-no-bar.mp4" && o["kind"] == "video.keyframes")
        .expect("video observation on the parent");
    assert_eq!(keyframes["value"]["frames_kept"], 8);
    assert!((keyframes["value"]["duration"].as_f64().unwrap() - 4.33).abs() < 0.01);

    // Thumbnails of the frames (keyed by the pixels' SHA-256), none bigger than 256 px.
    for f in of("doorknob-hd-no-bar.mp4") {
        let key = f["derivation"]["pixels_sha256"].as_str().unwrap();
        let thumb = case
            .join("thumbs")
            .join(&key[..2])
            .join(format!("{key}.jpg"));
        let img = image::open(&thumb).unwrap_or_else(|e| panic!("{}: {e}", thumb.display()));
        assert!(img.width() <= 256 && img.height() <= 256);
    }
    // Frames are not files of the evidence: verify re-reads only the two videos.
    let o = run(&["verify", case.to_str().unwrap()]);
    expect_code(&o, 0, "verify after a video scan");
}

/// Issue 11.8: ffmpeg reads the videos through spoor's own descriptor, so their access times
/// (and everything else about the tree) stay as they were; an MP4 with its index at the end
/// (seeking back) and the other containers still give frames.
#[test]
fn videos_are_read_without_moving_their_access_times() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    for name in ["doorknob-hd-no-bar.mp4", "padded.mkv", "padded.mov"] {
        copy(name, &ev);
    }
    common::age_access_times(&ev);
    let before = common::snapshot(&ev);
    let o = scan(&ev, &case, &[]);
    expect_code(&o, 0, "scan of three videos");
    common::assert_same_tree(&before, &common::snapshot(&ev));
    let items = export(&case, "items");
    for name in ["doorknob-hd-no-bar.mp4", "padded.mkv", "padded.mov"] {
        let frames = items.iter().filter(|i| i["parent_path"] == name).count();
        assert!(frames >= 1, "{name}: no keyframe");
    }
}

#[test]
fn every_named_container_yields_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    for ext in ["mkv", "avi", "mov", "3gp"] {
        copy(&format!("padded.{ext}"), &ev);
    }
    let o = scan(&ev, &case, &[]);
    expect_code(&o, 0, "scan of the remuxed containers");
    let items = export(&case, "items");
    let obs = export(&case, "observations");
    for ext in ["mkv", "avi", "mov", "3gp"] {
        let parent = format!("padded.{ext}");
        let frame = items
            .iter()
            .find(|i| i["parent_path"] == parent.as_str())
            .unwrap_or_else(|| panic!("no keyframe from {parent}"));
        // The same first frame whatever the container.
        let hash = obs
            .iter()
            .find(|o| o["path"] == frame["path"] && o["kind"] == "image.pdq")
            .unwrap()["value"]["hash"]
            .clone();
        let reference = vpdq("test-padded-dimensions")[0].2;
        let d = PdqHash::from_hex(hash.as_str().unwrap())
            .unwrap()
            .hamming(&reference);
        assert!(d <= 16, "{parent}: first frame {d} bits from vPDQ frame 0");
    }
}

#[test]
fn bad_videos_become_error_records_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, case) = (dir.path().join("ev"), dir.path().join("case"));
    copy("test-padded-dimensions.mp4", &ev);
    let good = std::fs::read(data("video/doorknob-hd-no-bar.mp4")).unwrap();
    // Named .mp4, but text.
    common::write(&ev.join("not-a-video.mp4"), b"holiday notes, not a film\n");
    // A real MP4 cut after 30 KB: the index is there, most of the frames are not.
    common::write(&ev.join("cut.mp4"), &good[..30_000]);
    // Right signature, garbage after it.
    let mut garbage = good[..64].to_vec();
    garbage.extend(std::iter::repeat_n(0xA5u8, 50_000));
    common::write(&ev.join("garbage.mov"), &garbage);

    let o = scan(
        &ev,
        &case,
        &["--max-frames", "2", "--frame-interval", "0.5"],
    );
    expect_code(&o, 2, "scan with bad videos");
    let errors = export(&case, "errors");
    let reason = |p: &str| {
        errors
            .iter()
            .find(|e| e["path"] == p && e["stage"] == "video")
            .unwrap_or_else(|| panic!("no video error for {p}: {errors:?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("not-a-video.mp4").contains("Invalid data"),
        "{}",
        reason("not-a-video.mp4")
    );
    assert!(
        reason("cut.mp4").starts_with("ffmpeg"),
        "{}",
        reason("cut.mp4")
    );
    assert!(
        reason("garbage.mov").starts_with("ffmpeg"),
        "{}",
        reason("garbage.mov")
    );
    // --max-frames stops the good video early, and says so.
    assert!(reason("test-padded-dimensions.mp4").contains("more than 2 keyframes"));
    let items = export(&case, "items");
    assert_eq!(
        items
            .iter()
            .filter(|i| i["parent_path"] == "test-padded-dimensions.mp4")
            .count(),
        2
    );
    // Every file is an item with its digests, the bad ones included.
    for p in ["not-a-video.mp4", "cut.mp4", "garbage.mov"] {
        let item = items.iter().find(|i| i["path"] == p).unwrap();
        assert_eq!(item["sha256"].as_str().unwrap().len(), 64);
    }
    // The same failures read the same on a second case (no run-specific addresses in them).
    let case2 = dir.path().join("case2");
    scan(
        &ev,
        &case2,
        &["--max-frames", "2", "--frame-interval", "0.5"],
    );
    let again = export(&case2, "errors");
    let reasons =
        |e: &[serde_json::Value]| e.iter().map(|x| x["reason"].clone()).collect::<Vec<_>>();
    assert_eq!(reasons(&errors), reasons(&again));
}

#[test]
fn the_demo_video_hides_the_flagged_picture_and_the_pdq_list_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, case) = (dir.path().join("demo"), dir.path().join("case"));
    expect_code(&run(&["demo-data", demo.to_str().unwrap()]), 0, "demo-data");
    let list = format!(
        "{}:bad:CAT-DEMO",
        demo.join("hashsets/demo-known-bad-pdq.txt").display()
    );
    let o = scan(&demo.join("phone-anna"), &case, &["--pdqlist", &list]);
    expect_code(&o, 0, "scan of the demo phone");
    let obs = export(&case, "observations");
    let video = "DCIM/Camera/VID_20240305_101500.avi";
    let keyframes = obs
        .iter()
        .find(|o| o["path"] == video && o["kind"] == "video.keyframes")
        .unwrap();
    // The first frame and the cut at 2 s; nothing else changes in 5 s.
    assert_eq!(keyframes["value"]["frames_kept"], 2, "{keyframes}");
    let at_cut = format!("{video}//frame-0001@2.000s");
    let hit = obs
        .iter()
        .find(|o| o["path"] == at_cut.as_str() && o["kind"] == "image.pdq_match")
        .expect("the frame at the cut matches the PDQ list");
    assert_eq!(hit["value"]["category"], "CAT-DEMO");
    assert!(hit["value"]["distance"].as_u64().unwrap() <= 8, "{hit}");
    // ...and becomes a lead of its own, on the frame, pointing back to the video.
    let leads = export(&case, "leads");
    let lead = leads
        .iter()
        .find(|l| l["path"] == at_cut.as_str())
        .expect("a lead on the frame");
    assert_eq!(lead["state"], "proposed");
    // Its thumbnail (keyed by the frame's pixels) is one logged reveal away.
    let o = run(&[
        "reveal",
        case.to_str().unwrap(),
        lead["id"].as_str().unwrap(),
        "--by",
        "Test Reviewer",
        "--reason",
        "look at the frame",
    ]);
    expect_code(&o, 0, "reveal of the frame's thumbnail");
    let thumb = image::open(common::stdout(&o).trim()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 171));
    // The street scene before the cut matches nothing.
    assert!(!obs.iter().any(
        |o| o["path"] == format!("{video}//frame-0000@0.000s").as_str()
            && o["kind"] == "image.pdq_match"
    ));
}
