//! Video keyframes as child items of the video, through the same analyzer and thumbnail steps
//! as any picture.

use super::*;

pub(super) const VIDEO_STAGE: &str = "video";
pub(super) const VIDEO_STAGE_VERSION: &str = "1";
pub(super) const VIDEO_MARGIN: &str = "keyframes chosen by ffmpeg's scene score and a fixed interval: a shot shorter than the \
     interval with no clear cut can be missed, and at most --max-frames frames are taken per video; each frame is \
     then an ordinary image (its PDQ as exact as for a photo); timestamps are the container's presentation times";

/// Keyframes of a video held in memory (an e-mail attachment): ffmpeg reads an anonymous
/// in-memory file (memfd), since it needs a descriptor to seek in and nothing may be written
/// beside the evidence; the file is sealed against writes before ffmpeg gets it.
pub(super) fn embedded_video(
    ctx: &SourceContext,
    bytes: &[u8],
    path: &[u8],
    observations: &mut Vec<(&'static str, &'static str, analyzer::ObservationDraft)>,
    errors: &mut Vec<ItemError>,
    children: &mut Vec<writer::ChildResult>,
) {
    use rustix::fs::{MemfdFlags, SealFlags};
    use std::io::{Seek, Write};
    let file = rustix::fs::memfd_create(
        "spoor-embedded-video",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .map(std::fs::File::from)
    .map_err(std::io::Error::from)
    .and_then(|mut f| {
        f.write_all(bytes)?;
        f.rewind()?;
        let seals = SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL;
        rustix::fs::fcntl_add_seals(&f, seals)?;
        Ok(f)
    });
    match file {
        Ok(file) => video_keyframes(ctx, file, path, observations, errors, children),
        Err(e) => errors.push(ItemError::new(
            Stage::Video,
            format!("in-memory copy for ffmpeg: {e}"),
        )),
    }
}

/// Runs the keyframe extractor over an open video: its `video.keyframes` observation and
/// problems go to the video, its frames become children named under `path`.
pub(super) fn video_keyframes(
    ctx: &SourceContext,
    file: std::fs::File,
    path: &[u8],
    observations: &mut Vec<(&'static str, &'static str, analyzer::ObservationDraft)>,
    errors: &mut Vec<ItemError>,
    children: &mut Vec<writer::ChildResult>,
) {
    use crate::media::video;
    let extractor = video::ffmpeg_version().unwrap_or("ffmpeg");
    let opts = ctx.video;
    let mut on_frame = |frame: video::Frame| {
        children.push(frame_child(ctx, path, extractor, opts, frame));
    };
    match video::keyframes(
        file,
        opts,
        ctx.stop,
        crate::media::MAX_DECODE_ALLOC,
        &mut on_frame,
    ) {
        Ok((info, problems)) => {
            observations.push((
                VIDEO_STAGE,
                VIDEO_STAGE_VERSION,
                analyzer::ObservationDraft {
                    kind: crate::model::ObservationKind::VideoKeyframes,
                    value: serde_json::to_value(&info).unwrap_or_default(),
                    confidence: 1.0,
                    provenance: json!({"extractor": extractor, "interval_s": opts.interval, "scene_threshold": opts.scene_threshold, "min_gap_s": opts.min_gap, "max_frames": opts.max_frames}),
                },
            ));
            for p in problems {
                errors.push(ItemError::new(Stage::Video, p));
            }
        }
        Err(e) => errors.push(ItemError::new(Stage::Video, e)),
    }
}

/// One keyframe as a child item: named after its parent and time, analysed like a photo.
pub(super) fn frame_child(
    ctx: &SourceContext,
    parent_path: &[u8],
    extractor: &str,
    opts: &crate::media::video::VideoOptions,
    frame: crate::media::video::Frame,
) -> writer::ChildResult {
    use sha2::Digest;
    let (width, height) = frame.image.dimensions();
    let pixels_sha256 = digest::to_hex(&sha2::Sha256::digest(frame.image.as_raw()));
    let name = match frame.timestamp {
        Some(t) => format!("//frame-{:04}@{t:.3}s", frame.index),
        None => format!("//frame-{:04}", frame.index),
    };
    let rel_path = [parent_path, name.as_bytes()].concat();
    let size = frame.image.as_raw().len() as u64;
    let img = image::DynamicImage::ImageRgb8(frame.image);
    let entry = derived_entry(rel_path.clone(), EntryKind::Unknown, size);
    let content_type = typing::ContentType {
        mime: "image/x-video-frame".into(),
        extension: None,
        by_signature: false,
    };
    let view = ItemView {
        source_label: ctx.label,
        entry: &entry,
        digests: None,
        content_type: Some(&content_type),
        head: &[],
        content: None,
        image: Some(&img),
        decoder: extractor,
        companion: None,
        reopen: None,
        expand: false,
    };
    let analysed = run_analyzers(ctx.analyzers, &view, ctx.text_region);
    let (observations, mut errors) = (analysed.observations, analysed.errors);
    if let Err(e) = crate::media::thumbs::write(ctx.thumbs, &pixels_sha256, &img) {
        errors.push(ItemError::new(Stage::Thumbnail, e));
    }
    // A frame is pixels only: no analyzer finds files inside it. Should one ever return some,
    // that is said, not dropped.
    if !analysed.embedded.is_empty() {
        errors.push(ItemError::new(
            Stage::Embedded,
            format!(
                "{} files found inside a video frame; frames are not containers, not extracted",
                analysed.embedded.len()
            ),
        ));
    }
    writer::ChildResult {
        rel_path,
        kind: "video-frame",
        size,
        mime: Some(content_type.mime.clone()),
        derivation: json!({
            "what": "video keyframe",
            "timestamp_s": frame.timestamp,
            "keyframe_index": frame.index,
            "width": width,
            "height": height,
            "pixels_sha256": pixels_sha256,
            "extractor": extractor,
            "selection": {"interval_s": opts.interval, "scene_threshold": opts.scene_threshold, "min_gap_s": opts.min_gap},
        }),
        digests: None,
        observations,
        errors,
        records: analysed.records,
    }
}
