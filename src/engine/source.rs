//! One source: the walk into bounded batches, the rayon workers, resume and crash recovery
//! per item, and the read → hash → examine steps of a walked file.

use super::*;
use std::borrow::Cow;

/// An item in flight at this many crashes is not read again.
pub(super) const POISON_CRASHES: i64 = 2;

pub(super) struct SourceContext<'a> {
    pub(super) source_id: i64,
    pub(super) label: &'a str,
    pub(super) done: HashSet<Vec<u8>>,
    pub(super) suspects: HashMap<Vec<u8>, i64>,
    pub(super) analyzers: &'a [Box<dyn Analyzer>],
    /// Default region of phone numbers in the text stage (`--region`).
    pub(super) text_region: Option<&'a str>,
    pub(super) journal: &'a journal::Journal,
    pub(super) progress: &'a Progress,
    pub(super) stop: &'a AtomicBool,
    pub(super) root: &'a Path,
    pub(super) before_open: Option<BeforeOpen<'a>>,
    pub(super) expansion_limits: ExpansionLimits,
    pub(super) thumbs: &'a Path,
    pub(super) video: &'a crate::media::video::VideoOptions,
    /// What the analyzers need of a picture; `None`: full resolution (OCR runs).
    pub(super) decode_need: Option<crate::media::turbojpeg::Need>,
}

/// Walks one source and processes every entry not already stored. Returns (processed, already stored).
pub(super) fn scan_source(
    ctx: &SourceContext,
    root: &Path,
    out: &SyncSender<WriteMsg>,
) -> (u64, u64) {
    let root_fd = match walk::open_root(root) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = out.send(WriteMsg::Error(ErrorRecord {
                source_id: ctx.source_id,
                path: Vec::new(),
                stage: Stage::Walk,
                reason: format!("open source root: {e}"),
            }));
            ctx.progress.errors.fetch_add(1, Ordering::Relaxed);
            return (0, 0);
        }
    };
    ctx.progress.walk_finished.store(false, Ordering::Relaxed);
    let (entry_tx, entry_rx) = sync_channel::<Vec<WalkEntry>>(WALK_QUEUE);
    let processed = AtomicU64::new(0);
    let already = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let walker_out = out.clone();
        let root_fd = &root_fd;
        scope.spawn(move || {
            // Large files of every directory meet here, to be streamed side by side.
            let large = std::sync::Mutex::new(LargeBatch::default());
            let take_large = |due: &dyn Fn(&LargeBatch) -> bool| {
                let mut large = large.lock().unwrap_or_else(|p| p.into_inner());
                (!large.files.is_empty() && due(&large)).then(|| std::mem::take(&mut *large).files)
            };
            let send_large = |due: &dyn Fn(&LargeBatch) -> bool| {
                if let Some(files) = take_large(due) {
                    let _ = entry_tx.send(files);
                }
            };
            let walked = || ctx.progress.entries_walked.load(Ordering::Relaxed);
            // Each directory's entries arrive at once; split them into worker batches.
            let sink = |events: Vec<WalkEvent>| {
                let mut batch = Vec::with_capacity(WALK_BATCH.min(events.len()));
                let mut batch_bytes = 0u64;
                for event in events {
                    match event {
                        WalkEvent::Entry(entry) => {
                            ctx.progress.entries_walked.fetch_add(1, Ordering::Relaxed);
                            if entry.meta.kind == EntryKind::File {
                                ctx.progress
                                    .bytes_walked
                                    .fetch_add(entry.meta.size, Ordering::Relaxed);
                                if entry.meta.size >= digest::SMALL_FILE_LIMIT {
                                    large
                                        .lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .add(entry, walked());
                                    send_large(&LargeBatch::is_full);
                                    continue;
                                }
                                batch_bytes += entry.meta.size;
                            }
                            batch.push(entry);
                            if batch.len() >= WALK_BATCH || batch_bytes >= WALK_BATCH_BYTES {
                                let _ = entry_tx.send(std::mem::replace(
                                    &mut batch,
                                    Vec::with_capacity(WALK_BATCH),
                                ));
                                batch_bytes = 0;
                            }
                        }
                        WalkEvent::Failure(f) => {
                            ctx.progress.errors.fetch_add(1, Ordering::Relaxed);
                            let _ = walker_out.send(WriteMsg::Error(ErrorRecord {
                                source_id: ctx.source_id,
                                path: f.rel_path,
                                stage: Stage::Walk,
                                reason: f.reason,
                            }));
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = entry_tx.send(batch);
                }
                // Not held back until the walk ends: those would be the scan's last work,
                // one worker streaming them while the other waits.
                send_large(&|l: &LargeBatch| l.waited(walked()));
            };
            walk::walk(root_fd, ctx.stop, WALK_THREADS, &sink);
            send_large(&|_| true);
            ctx.progress.walk_finished.store(true, Ordering::Relaxed);
        });
        entry_rx.into_iter().par_bridge().for_each_init(
            WorkerBuffers::default,
            |buffers, batch| {
                let WorkerBuffers { read, lanes } = buffers;
                let mut results = Vec::with_capacity(batch.len());
                let (large, rest): (Vec<WalkEntry>, Vec<WalkEntry>) =
                    batch.into_iter().partition(|e| is_due_large_file(ctx, e));
                let mut entries = rest.into_iter().peekable();
                'batch: while entries.peek().is_some() {
                    // Small files a group at a time: read whole first, their MD5s taken
                    // together (digest::md5_of_many), then each examined in batch order.
                    let group: Vec<WalkEntry> = entries.by_ref().take(digest::MD5_LANES).collect();
                    let mut prereads = preread_small_files(ctx, root_fd, &group, lanes).into_iter();
                    for entry in group {
                        let preread = prereads.next().flatten();
                        if ctx.stop.load(Ordering::Relaxed) {
                            break 'batch;
                        }
                        if ctx.done.contains(&entry.rel_path) {
                            already.fetch_add(1, Ordering::Relaxed);
                            ctx.progress.items_skipped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if let Some(result) = process_guarded(ctx, root_fd, entry, preread, read) {
                            count_done(ctx, &processed, &mut results, result);
                        }
                    }
                }
                if !ctx.stop.load(Ordering::Relaxed) {
                    stream_large_files(ctx, root_fd, large, lanes, read, &processed, &mut results);
                }
                if !results.is_empty() {
                    let _ = out.send(WriteMsg::Items(results));
                }
            },
        );
    });
    (processed.into_inner(), already.into_inner())
}

/// Large files waiting for the batch they will be streamed side by side in.
#[derive(Default)]
struct LargeBatch {
    files: Vec<WalkEntry>,
    bytes: u64,
    /// Entries walked when its first file came.
    first_at: u64,
}

/// A batch of large files waits at most this many walked entries for more (about a sixteenth
/// of what the walk queue holds). On the bench tree, where the last three of eight 125 MB
/// files were held until the walk ended, one worker then streamed them alone for 0.8 s of
/// a 4.2 s scan while the other core idled (perf samples per 0.2 s).
const LARGE_BATCH_WAIT_ENTRIES: u64 = (WALK_QUEUE * WALK_BATCH / 16) as u64;

impl LargeBatch {
    fn add(&mut self, entry: WalkEntry, walked: u64) {
        if self.files.is_empty() {
            self.first_at = walked;
        }
        self.bytes += entry.meta.size;
        self.files.push(entry);
    }

    fn is_full(&self) -> bool {
        self.files.len() >= digest::SIDE_BY_SIDE_BATCH_FILES
            || self.bytes >= digest::SIDE_BY_SIDE_BATCH_BYTES
    }

    fn waited(&self, walked: u64) -> bool {
        self.is_full() || walked.saturating_sub(self.first_at) >= LARGE_BATCH_WAIT_ENTRIES
    }
}

/// A worker's read buffers: one for streaming a file through, and one per lane of a group of
/// small files (allocated when the first small file comes; the kernel backs only the pages a
/// read touches).
#[derive(Default)]
struct WorkerBuffers {
    read: digest::ReadBuffer,
    lanes: Vec<digest::ReadBuffer>,
}

/// What opening and reading a small file gave before its turn came.
pub(super) enum Preread<'a> {
    Read {
        bytes: &'a [u8],
        first_read: usize,
        digests: digest::FileDigests,
    },
    /// "open: ..." or "read: ...", as the streaming path words it.
    Failed(String),
    /// It grew past its buffer since it was listed: read again the streaming way.
    Grown,
    /// A large file streamed side by side with others, its type from its first read.
    Streamed {
        streamed: digest::StreamResult,
        content_type: Option<typing::ContentType>,
    },
}

/// Opens and reads every small regular file of `group` that is due (not stored, not a
/// poison file) whole into a lane each, takes their SHA-1 and SHA-256 one by one while each
/// is in the cache and their MD5s together. One entry per entry of `group`; `None` where the
/// entry is read the streaming way (or not at all).
fn preread_small_files<'b>(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    group: &[WalkEntry],
    lanes: &'b mut Vec<digest::ReadBuffer>,
) -> Vec<Option<Preread<'b>>> {
    enum Got {
        Lane(usize, digest::SmallRead),
        Failed(String),
        Grown,
    }
    let mut got: Vec<Option<Got>> = Vec::with_capacity(group.len());
    let mut used = 0usize;
    for entry in group {
        let due = is_due_file(ctx, entry) && entry.meta.size < digest::SMALL_FILE_LIMIT;
        if !due || ctx.stop.load(Ordering::Relaxed) {
            got.push(None);
            continue;
        }
        if lanes.len() <= used {
            lanes.push(digest::ReadBuffer::new());
        }
        if let Some(hook) = ctx.before_open {
            hook(ctx.root, &entry.rel_path);
        }
        got.push(Some(
            match walk::open_regular_file(root_fd, &entry.rel_path) {
                Err(e) => Got::Failed(format!("open: {e}")),
                Ok(file) => match digest::read_small(file, &mut lanes[used], entry.meta.size) {
                    Err(e) => Got::Failed(format!("read: {e}")),
                    Ok(None) => Got::Grown,
                    Ok(Some(read)) => {
                        used += 1;
                        Got::Lane(used - 1, read)
                    }
                },
            },
        ));
    }
    let lanes: &'b [digest::ReadBuffer] = lanes;
    let bytes_of = |lane: usize, read: &digest::SmallRead| &lanes[lane].as_slice()[..read.len];
    let inputs: Vec<&[u8]> = got
        .iter()
        .filter_map(|g| match g {
            Some(Got::Lane(lane, read)) => Some(bytes_of(*lane, read)),
            _ => None,
        })
        .collect();
    let mut md5s = digest::md5_of_many(&inputs).into_iter();
    got.into_iter()
        .map(|g| {
            g.map(|g| match g {
                Got::Failed(reason) => Preread::Failed(reason),
                Got::Grown => Preread::Grown,
                Got::Lane(lane, read) => Preread::Read {
                    bytes: bytes_of(lane, &read),
                    first_read: read.first_read,
                    digests: digest::FileDigests {
                        md5: md5s.next().expect("one MD5 per small file read"),
                        sha1: read.sha1,
                        sha256: read.sha256,
                    },
                },
            })
        })
        .collect()
}

/// Counts a processed item in the progress and keeps it for the writer.
fn count_done(
    ctx: &SourceContext,
    processed: &AtomicU64,
    results: &mut Vec<ItemResult>,
    result: ItemResult,
) {
    ctx.progress
        .errors
        .fetch_add(result.errors.len() as u64, Ordering::Relaxed);
    ctx.progress.items_done.fetch_add(1, Ordering::Relaxed);
    processed.fetch_add(1, Ordering::Relaxed);
    results.push(result);
}

/// A regular file of at least `SMALL_FILE_LIMIT` that is due: not stored, not a poison file.
fn is_due_large_file(ctx: &SourceContext, entry: &WalkEntry) -> bool {
    is_due_file(ctx, entry) && entry.meta.size >= digest::SMALL_FILE_LIMIT
}

/// A regular file to be read in this run: not stored, not a poison file.
fn is_due_file(ctx: &SourceContext, entry: &WalkEntry) -> bool {
    entry.meta.kind == EntryKind::File
        && !ctx.done.contains(&entry.rel_path)
        && ctx
            .suspects
            .get(&entry.rel_path)
            .is_none_or(|&crashes| crashes < POISON_CRASHES)
}

/// Streams `large` (due large files) side by side and examines each as soon as its read is
/// done, its content dropped before the group goes on.
fn stream_large_files(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    large: Vec<WalkEntry>,
    lanes: &mut Vec<digest::ReadBuffer>,
    read: &mut digest::ReadBuffer,
    processed: &AtomicU64,
    results: &mut Vec<ItemResult>,
) {
    if large.is_empty() {
        return;
    }
    let typed: std::cell::RefCell<Vec<Option<typing::ContentType>>> =
        std::cell::RefCell::new(vec![None; large.len()]);
    let mut entries: Vec<Option<WalkEntry>> = large.into_iter().map(Some).collect();
    let sizes: Vec<u64> = entries.iter().flatten().map(|e| e.meta.size).collect();
    let paths: Vec<Vec<u8>> = entries
        .iter()
        .flatten()
        .map(|e| e.rel_path.clone())
        .collect();
    let keep = |index: usize, first: &[u8]| {
        let (ct, wanted) = wanted_whole(ctx, sizes[index], first);
        typed.borrow_mut()[index] = Some(ct);
        wanted
    };
    let mut open = |index: usize| {
        if let Some(hook) = ctx.before_open {
            hook(ctx.root, &paths[index]);
        }
        walk::open_regular_file(root_fd, &paths[index])
    };
    let mut finished = |index: usize, streamed: digest::StreamResult| {
        let Some(entry) = entries[index].take() else {
            return;
        };
        let content_type = typed.borrow_mut()[index].take();
        let preread = Preread::Streamed {
            streamed,
            content_type,
        };
        if let Some(result) = process_guarded(ctx, root_fd, entry, Some(preread), read) {
            count_done(ctx, processed, results, result);
        }
    };
    // Interrupted: the files not handed over are not done; a rerun reads them.
    let _ = digest::stream_side_by_side(
        sizes.len(),
        &|index| sizes[index],
        &mut open,
        lanes,
        &|| ctx.stop.load(Ordering::Relaxed),
        &keep,
        &mut finished,
    );
}

/// The type of a file from its first read, and whether an analyzer wants its whole content
/// kept while it is hashed.
fn wanted_whole(ctx: &SourceContext, size: u64, first: &[u8]) -> (typing::ContentType, bool) {
    let head = &first[..first.len().min(digest::HEAD_LEN)];
    let ct = typing::detect(head);
    // The head is what the analyzers will see as `ItemView::head` unless the first read
    // came back short; then only the type and size decide.
    let whole_head = head.len() as u64 >= size.min(digest::HEAD_LEN as u64);
    let wanted = ctx.analyzers.iter().any(|a| {
        if whole_head {
            a.wants_content_of(&ct, size, head)
        } else {
            a.wants_content(&ct, size)
        }
    });
    (ct, wanted)
}

/// [`process_item`] between the journal marks, with a panic turned into the item's error.
pub(super) fn process_guarded(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    entry: WalkEntry,
    preread: Option<Preread>,
    buf: &mut digest::ReadBuffer,
) -> Option<ItemResult> {
    let path = entry.rel_path.clone();
    let in_flight = ctx.journal.begin(ctx.source_id, &path);
    let fallback = entry.clone();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        process_item(ctx, root_fd, entry, preread, buf)
    }))
    .unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Some(ItemResult {
            source_id: ctx.source_id,
            entry: fallback,
            digests: None,
            mime: None,
            observations: Vec::new(),
            errors: vec![ItemError::new(
                Stage::Engine,
                format!("panic while processing: {msg}"),
            )],
            children: Vec::new(),
            records: Vec::new(),
        })
    });
    ctx.journal.end(in_flight);
    result
}

/// What reading a walked file gave: its first bytes, its whole content when an analyzer
/// wants it, and its type (none when it could not be read).
/// A small file read ahead lends both from its lane instead of copying them.
pub(super) struct ReadFile<'a> {
    pub(super) head: Cow<'a, [u8]>,
    pub(super) content: Option<Cow<'a, [u8]>>,
    pub(super) content_type: Option<typing::ContentType>,
}

/// Opens, reads and hashes a walked file in one pass, typing it from its first chunk; the
/// digests, the type and any read error go into `result`. `None` when cancelled mid-read.
/// A small file read ahead (`preread`) is not opened again.
fn read_walked_file<'a>(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    result: &mut ItemResult,
    preread: Option<Preread<'a>>,
    buf: &mut digest::ReadBuffer,
) -> Option<ReadFile<'a>> {
    let mut head = Cow::Borrowed(&[][..]);
    let size = result.entry.meta.size;
    // Typed once, from the first chunk: that also decides whether an analyzer needs the
    // whole content kept while the file is hashed.
    let typed: std::cell::RefCell<Option<typing::ContentType>> = std::cell::RefCell::new(None);
    let keep = |first: &[u8]| {
        let (ct, wanted) = wanted_whole(ctx, size, first);
        *typed.borrow_mut() = Some(ct);
        wanted
    };
    let mut content = None;
    let streamed = match preread {
        Some(Preread::Failed(reason)) => {
            result.errors.push(ItemError::new(Stage::Read, reason));
            None
        }
        Some(Preread::Read {
            bytes,
            first_read,
            digests,
        }) => {
            ctx.progress
                .bytes_done
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            note_size_change(result, bytes.len() as u64);
            result.digests = Some(digests);
            head = Cow::Borrowed(&bytes[..bytes.len().min(digest::HEAD_LEN)]);
            // As the streaming path: typed (and the content kept or not) from the first read.
            if first_read > 0 && keep(&bytes[..first_read]) {
                content = Some(Cow::Borrowed(bytes));
            }
            None
        }
        Some(Preread::Streamed {
            streamed,
            content_type,
        }) => {
            *typed.borrow_mut() = content_type;
            Some(streamed)
        }
        Some(Preread::Grown) | None => {
            if let Some(hook) = ctx.before_open {
                hook(ctx.root, &result.entry.rel_path);
            }
            Some(
                walk::open_regular_file(root_fd, &result.entry.rel_path)
                    .map_err(digest::StreamFailure::Open)
                    .and_then(|file| {
                        digest::digest_reader_keeping(
                            file,
                            buf,
                            &|| ctx.stop.load(Ordering::Relaxed),
                            &keep,
                            Some(size),
                        )
                        .map_err(digest::StreamFailure::Read)
                    }),
            )
        }
    };
    match streamed {
        None => {}
        Some(Err(digest::StreamFailure::Read(e)))
            if ctx.stop.load(Ordering::Relaxed) && e.kind() == std::io::ErrorKind::Interrupted =>
        {
            return None;
        }
        Some(Err(digest::StreamFailure::Open(e))) => result
            .errors
            .push(ItemError::new(Stage::Read, format!("open: {e}"))),
        Some(Err(digest::StreamFailure::Read(e))) => result
            .errors
            .push(ItemError::new(Stage::Read, format!("read: {e}"))),
        Some(Ok(outcome)) => {
            ctx.progress
                .bytes_done
                .fetch_add(outcome.bytes, Ordering::Relaxed);
            note_size_change(result, outcome.bytes);
            result.digests = Some(outcome.digests);
            head = Cow::Owned(outcome.head);
            content = outcome.content.map(Cow::Owned);
        }
    }
    let content_type = result
        .digests
        .is_some()
        .then(|| typed.take().unwrap_or_else(|| typing::detect(&head)));
    result.mime = content_type.as_ref().map(|c| c.mime.clone());
    Some(ReadFile {
        head,
        content,
        content_type,
    })
}

fn note_size_change(result: &mut ItemResult, read: u64) {
    if read != result.entry.meta.size {
        result.errors.push(ItemError::new(
            Stage::Read,
            format!(
                "size changed during the scan: listed {} bytes, read {}",
                result.entry.meta.size, read
            ),
        ));
    }
}

/// Reads, hashes and analyzes one entry. `None` when cancelled mid-read (not done: a rerun
/// does it again).
pub(super) fn process_item(
    ctx: &SourceContext,
    root_fd: &OwnedFd,
    entry: WalkEntry,
    preread: Option<Preread>,
    buf: &mut digest::ReadBuffer,
) -> Option<ItemResult> {
    let mut result = ItemResult {
        source_id: ctx.source_id,
        entry,
        digests: None,
        mime: None,
        observations: Vec::new(),
        errors: Vec::new(),
        children: Vec::new(),
        records: Vec::new(),
    };
    if let Some(&crashes) = ctx.suspects.get(&result.entry.rel_path)
        && crashes >= POISON_CRASHES
    {
        result.errors.push(ItemError::new(Stage::Resume, format!("in flight during {crashes} interrupted scans; not read again (possible poison file)")));
        return Some(result);
    }
    if result.entry.meta.kind != EntryKind::File {
        // Directories, links, FIFOs, sockets and devices are recorded, never opened.
        return Some(result);
    }
    let ReadFile {
        head,
        content,
        content_type,
    } = read_walked_file(ctx, root_fd, &mut result, preread, buf)?;
    let size = result.entry.meta.size;
    let (decoded, decoder) = match (&content_type, &result.digests) {
        (Some(ct), Some(_)) if crate::media::decodable(&ct.mime) => decode_image(
            content.as_deref(),
            &ct.mime,
            size,
            ctx.decode_need,
            &mut result.errors,
        ),
        (Some(ct), _) => (None, crate::media::decoder_name(&ct.mime)),
        _ => (None, ""),
    };
    let companion = |suffix: &str| -> Option<Result<Vec<u8>, String>> {
        use std::io::Read;
        let path = [result.entry.rel_path.as_slice(), suffix.as_bytes()].concat();
        let file = match walk::open_regular_file(root_fd, &path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("open: {e}"))),
            Ok(f) => f,
        };
        let mut bytes = Vec::new();
        let limit = crate::comms::MAX_IN_MEMORY;
        Some(match file.take(limit + 1).read_to_end(&mut bytes) {
            Err(e) => Err(format!("read: {e}")),
            Ok(n) if n as u64 > limit => Err(format!("over {} MiB; not read", limit >> 20)),
            Ok(_) => Ok(bytes),
        })
    };
    let reopen = || {
        walk::open_regular_file(root_fd, &result.entry.rel_path).map_err(|e| format!("open: {e}"))
    };
    let view = ItemView {
        source_label: ctx.label,
        entry: &result.entry,
        digests: result.digests.as_ref(),
        content_type: content_type.as_ref(),
        head: &head,
        content: content.as_deref(),
        image: decoded.as_ref(),
        decoder,
        companion: Some(&companion),
        reopen: Some(&reopen),
        expand: true,
    };
    let mut expansion = Expansion::default();
    if let Some(d) = &result.digests {
        expansion.expanded.insert(d.sha256);
    }
    let thumb_key = result.digests.as_ref().map(|d| d.sha256.to_hex());
    let examined = examine(
        ctx,
        &view,
        thumb_key,
        Some(VideoBytes::Evidence(root_fd)),
        1,
        &mut expansion,
    );
    drop(decoded);
    drop(content);
    result.observations = examined.observations;
    result.errors.extend(examined.errors);
    result.records = examined.records;
    result.children = examined.descendants;
    if ctx.stop.load(Ordering::Relaxed) {
        // A container's children or a video's keyframes may have been cut short by Ctrl-C:
        // not stored half done, a rerun does the whole item again.
        return None;
    }
    Some(result)
}
