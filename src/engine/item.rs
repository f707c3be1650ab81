//! The one per-item path ([`examine`]): image decoding, the analyzers, thumbnails, keyframes
//! and the files inside an item (attachments, zip members, MMS parts) as child items, within
//! the expansion bounds of one evidence file.

use super::*;

/// Decodes an image item once for all analyzers, at the scale `need` allows; a failure is the
/// item's error record. Returns the pixels and what decoded them (provenance).
pub(super) fn decode_image(
    content: Option<&[u8]>,
    mime: &str,
    size: u64,
    need: Option<crate::media::turbojpeg::Need>,
    errors: &mut Vec<ItemError>,
) -> (Option<image::DynamicImage>, &'static str) {
    let full = crate::media::decoder_name(mime);
    let Some(bytes) = content else {
        errors.push(ItemError::new(
            Stage::ImageDecode,
            format!(
                "image of {size} bytes is over the {} MiB decode limit; not decoded",
                crate::media::MAX_IMAGE_BYTES >> 20
            ),
        ));
        return (None, full);
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| {
        crate::media::decode_for(bytes, mime, need)
    })) {
        Ok(Ok((img, decoder))) => (Some(img), decoder),
        Ok(Err(reason)) => {
            errors.push(ItemError::new(Stage::ImageDecode, reason));
            (None, full)
        }
        Err(_) => {
            errors.push(ItemError::new(Stage::ImageDecode, "decoder panicked"));
            (None, full)
        }
    }
}

pub(super) type Observed = Vec<(&'static str, &'static str, analyzer::ObservationDraft)>;
pub(super) type Recorded = Vec<(&'static str, &'static str, crate::comms::CommRecord)>;

/// What the analyzers made of one item.
pub(super) struct Analysed {
    pub(super) observations: Observed,
    pub(super) errors: Vec<ItemError>,
    pub(super) records: Recorded,
    pub(super) embedded: Vec<crate::comms::Embedded>,
}

/// The text stage: the entities in what an analyzer read (its records' bodies, its OCR
/// lines), each occurrence pointing at its record or line. Run here, by the engine, so that
/// no producer calls another (issue 12.2); the observations are the reading analyzer's.
fn text_stage(
    analysis: &crate::model::Analysis,
    region: Option<&str>,
) -> Vec<crate::model::ObservationDraft> {
    let bodies = analysis
        .records
        .iter()
        .filter_map(|r| r.body.as_deref().map(|b| (r.locator.clone(), b)));
    let found = analysis
        .texts
        .iter()
        .map(|t| (t.locator.clone(), t.text.as_str()));
    let texts: Vec<_> = bodies.chain(found).collect();
    if texts.is_empty() {
        return Vec::new();
    }
    crate::text::entities::observations(texts.into_iter(), region)
}

/// Every analyzer that accepts the view, each behind its own panic guard, and the text stage
/// over what each read; `region` is the default region of phone numbers (`--region`).
pub(super) fn run_analyzers(
    analyzers: &[Box<dyn Analyzer>],
    view: &ItemView,
    region: Option<&str>,
) -> Analysed {
    let mut observations = Vec::new();
    let mut errors = Vec::new();
    let mut records = Vec::new();
    let mut embedded = Vec::new();
    for a in analyzers {
        if !a.accepts(view) {
            continue;
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| a.analyze_full(view))) {
            Ok(Ok(mut analysis)) => {
                let (name, version) = (a.name(), a.version());
                let entities = text_stage(&analysis, region);
                analysis.observations.extend(entities);
                observations.extend(
                    analysis
                        .observations
                        .into_iter()
                        .map(|o| (name, version, o)),
                );
                records.extend(analysis.records.into_iter().map(|r| (name, version, r)));
                errors.extend(
                    analysis
                        .damage
                        .into_iter()
                        .map(|d| ItemError::new(Stage::Analyzer(name), d)),
                );
                embedded.extend(analysis.embedded);
            }
            Ok(Err(reason)) => errors.push(ItemError::new(Stage::Analyzer(a.name()), reason)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                errors.push(ItemError::new(
                    Stage::Analyzer(a.name()),
                    format!("analyzer panicked: {message}"),
                ))
            }
        }
    }
    Analysed {
        observations,
        errors,
        records,
        embedded,
    }
}

/// The walk entry of an item made from another (a keyframe, an attachment): no inode, owner,
/// mode or times of its own.
pub(super) fn derived_entry(rel_path: Vec<u8>, kind: EntryKind, size: u64) -> WalkEntry {
    WalkEntry {
        rel_path,
        meta: walk::EntryMeta {
            kind,
            size,
            mode: 0,
            uid: 0,
            gid: 0,
            inode: 0,
            device: 0,
            nlink: 0,
            mtime: None,
            atime: None,
            ctime: None,
            btime: None,
        },
        link_target: None,
    }
}

/// How deep files inside files are followed (a message forwarded inside a message inside a
/// mailbox is depth 2); deeper ones are an error record, not a silent stop. bulk_extractor's
/// default recursion depth is 7 too; what all levels together expand to is bounded below.
pub(super) const MAX_EMBED_DEPTH: usize = 7;

/// What one evidence file may expand to, all levels together (zip in zip, attachments of
/// attachments). Each container already bounds its own extraction (512 MiB), but a 42.zip-style
/// nest (sixteen copies a level) multiplies that bound at every level: such a 50 KB file ran
/// past 400 s before these limits (issue 11.6). bulk_extractor bounds depth and skips buffers
/// it has seen; these bound depth, count and bytes, and skip containers already expanded.
pub(super) const MAX_DERIVED_ITEMS_PER_FILE: usize = 100_000;
pub(super) const MAX_EXPANDED_BYTES_PER_FILE: u64 = 4 << 30;

/// What one evidence file may expand to (see [`MAX_DERIVED_ITEMS_PER_FILE`]); other values
/// only through [`ScanHooks::expansion_limits`], so a test can reach a limit with small input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpansionLimits {
    pub items: usize,
    pub bytes: u64,
}

impl Default for ExpansionLimits {
    fn default() -> Self {
        ExpansionLimits {
            items: MAX_DERIVED_ITEMS_PER_FILE,
            bytes: MAX_EXPANDED_BYTES_PER_FILE,
        }
    }
}

/// The expansion of one evidence file so far, shared by all its levels.
#[derive(Default)]
pub(super) struct Expansion {
    pub(super) items: usize,
    pub(super) bytes: u64,
    /// Items already taken apart (by SHA-256): an identical copy is stored and analysed
    /// itself, but what it contains is not expanded a second time.
    pub(super) expanded: HashSet<Sha256>,
}

// Long (~125 lines) on purpose: the expansion bounds (depth, count, bytes, seen digests) are
// checked in order for each child before it takes the one per-item path (examine).
/// Files carried inside an item (e-mail attachments) as child items through every stage:
/// digests (so hash sets match them), typing, image decoding and the vision models, the text
/// and comms parsers, thumbnails; and what they carry in turn, under their own path.
pub(super) fn embedded_children(
    ctx: &SourceContext,
    parent_path: &[u8],
    embedded: Vec<crate::comms::Embedded>,
    depth: usize,
    expansion: &mut Expansion,
    out: &mut Vec<writer::ChildResult>,
    parent_errors: &mut Vec<ItemError>,
) {
    let total = embedded.len();
    // Two members of one container can carry one name (`a.txt` twice in a zip; `dir/a.txt`
    // and `dir\a.txt`; two attachments called image.jpg): each becomes its own child, the
    // later ones named `NAME~2`, `NAME~3` …, so no bytes are lost behind a colliding path.
    let mut used_names: HashSet<String> = HashSet::new();
    for (nth, mut e) in embedded.into_iter().enumerate() {
        let size = e.bytes.len() as u64;
        let limits = ctx.expansion_limits;
        if expansion.items >= limits.items || expansion.bytes + size > limits.bytes {
            parent_errors.push(ItemError::new(
                Stage::Embedded,
                format!(
                    "{} of {total} embedded files not examined, from {} on: the evidence file \
                     expands past its limit ({} derived items or {} MiB in all levels \
                     together; {} items and {} MiB so far)",
                    total - nth,
                    e.name,
                    limits.items,
                    limits.bytes >> 20,
                    expansion.items,
                    expansion.bytes >> 20
                ),
            ));
            break;
        }
        if ctx.stop.load(Ordering::Relaxed) {
            return;
        }
        expansion.items += 1;
        expansion.bytes += size;
        if !used_names.insert(e.name.clone()) {
            let original = std::mem::take(&mut e.name);
            let renamed = (2..)
                .map(|n| format!("{original}~{n}"))
                .find(|candidate| !used_names.contains(candidate))
                .expect("an unused name exists");
            used_names.insert(renamed.clone());
            e.derivation["name_in_parent"] = json!(original);
            e.derivation["renamed_because"] =
                json!("another item in the same container has this name");
            e.name = renamed;
        }
        if depth > MAX_EMBED_DEPTH {
            parent_errors.push(ItemError::new(
                Stage::Embedded,
                format!(
                    "{}: nested more than {MAX_EMBED_DEPTH} levels deep; not extracted",
                    e.name
                ),
            ));
            continue;
        }
        let rel_path = [parent_path, b"//", e.name.as_bytes()].concat();
        let mut hasher = digest::TripleHasher::default();
        hasher.update(&e.bytes);
        let digests = hasher.finish();
        let already_expanded = expansion.expanded.contains(&digests.sha256);
        let head = &e.bytes[..e.bytes.len().min(digest::HEAD_LEN)];
        let content_type = typing::detect(head);
        let mut errors = Vec::new();
        let (decoded, decoder) = if crate::media::decodable(&content_type.mime) {
            let within = (size <= crate::media::MAX_IMAGE_BYTES).then_some(e.bytes.as_slice());
            decode_image(
                within,
                &content_type.mime,
                size,
                ctx.decode_need,
                &mut errors,
            )
        } else {
            (None, crate::media::decoder_name(&content_type.mime))
        };
        // A file's content (analyzers that want files take it), with no walk metadata.
        let entry = derived_entry(rel_path.clone(), EntryKind::File, size);
        let view = ItemView {
            source_label: ctx.label,
            entry: &entry,
            digests: Some(&digests),
            content_type: Some(&content_type),
            head,
            content: Some(&e.bytes),
            image: decoded.as_ref(),
            decoder,
            companion: None,
            reopen: None,
            expand: !already_expanded,
        };
        // Whatever it is, a later identical copy is described, not opened again (a container
        // whose members were all refused would otherwise say so once per copy).
        expansion.expanded.insert(digests.sha256);
        let examined = examine(
            ctx,
            &view,
            Some(digests.sha256.to_hex()),
            Some(VideoBytes::Memory(&e.bytes)),
            depth + 1,
            expansion,
        );
        drop(decoded);
        errors.extend(examined.errors);
        let mut derivation = e.derivation;
        derivation["within"] = json!(String::from_utf8_lossy(parent_path));
        if examined.contents_not_expanded {
            derivation["contents_not_expanded"] = json!(
                "identical (SHA-256) to a container already expanded within this evidence file; \
                 its files are children of that one"
            );
        }
        out.push(writer::ChildResult {
            rel_path,
            kind: "embedded-file",
            size,
            mime: Some(content_type.mime.clone()),
            derivation,
            digests: Some(digests),
            observations: examined.observations,
            errors,
            records: examined.records,
        });
        out.extend(examined.descendants);
    }
}

/// Where a video's keyframes are read from.
pub(super) enum VideoBytes<'a> {
    /// A file of the evidence, opened again under the source root.
    Evidence(&'a OwnedFd),
    /// A file held in memory (an attachment, a zip member).
    Memory(&'a [u8]),
}

/// What the steps after reading gave for one item: its own observations, errors and records,
/// and its descendants (the files inside it, its keyframes) in the order they are stored.
pub(super) struct Examined {
    pub(super) observations: Observed,
    pub(super) errors: Vec<ItemError>,
    pub(super) records: Recorded,
    pub(super) descendants: Vec<writer::ChildResult>,
    /// A copy of a container already taken apart: its contents were not expanded again.
    pub(super) contents_not_expanded: bool,
}

/// The steps every item with content of its own takes once it is read and typed, whatever
/// its origin (a walked file, a file inside another): every analyzer, its thumbnail, its
/// keyframes when it is a video, and the files inside it, each of which takes these steps
/// again one level deeper (`child_depth`). One path, so a new kind of child cannot forget a
/// step; keyframes take the analyzer and thumbnail steps in [`frame_child`].
pub(super) fn examine(
    ctx: &SourceContext,
    view: &ItemView,
    thumb_key: Option<String>,
    video: Option<VideoBytes>,
    child_depth: usize,
    expansion: &mut Expansion,
) -> Examined {
    let analysed = run_analyzers(ctx.analyzers, view, ctx.text_region);
    let mut errors = analysed.errors;
    let mut observations = analysed.observations;
    if let (Some(img), Some(key)) = (view.image, &thumb_key)
        && let Err(e) = crate::media::thumbs::write(ctx.thumbs, key, img)
    {
        errors.push(ItemError::new(Stage::Thumbnail, e));
    }
    let mut descendants = Vec::new();
    let path = &view.entry.rel_path;
    if let (Some(source), Some(ct)) = (video, view.content_type)
        && crate::media::video::is_video_candidate(path, view.head, &ct.mime, ct.by_signature)
    {
        match source {
            VideoBytes::Evidence(root_fd) => match walk::open_regular_file(root_fd, path) {
                // Opened a second time: hashing streamed the file without keeping it (videos
                // are large), and ffmpeg reads only what it decodes.
                Ok(file) => video_keyframes(
                    ctx,
                    file,
                    path,
                    &mut observations,
                    &mut errors,
                    &mut descendants,
                ),
                Err(e) => errors.push(ItemError::new(Stage::Video, format!("open: {e}"))),
            },
            VideoBytes::Memory(bytes) => embedded_video(
                ctx,
                bytes,
                path,
                &mut observations,
                &mut errors,
                &mut descendants,
            ),
        }
    }
    let is_zip = view
        .content_type
        .is_some_and(|ct| ct.mime == "application/zip");
    let contents_not_expanded = !view.expand && (!analysed.embedded.is_empty() || is_zip);
    if view.expand && !analysed.embedded.is_empty() {
        embedded_children(
            ctx,
            path,
            analysed.embedded,
            child_depth,
            expansion,
            &mut descendants,
            &mut errors,
        );
    }
    Examined {
        observations,
        errors,
        records: analysed.records,
        descendants,
        contents_not_expanded,
    }
}
