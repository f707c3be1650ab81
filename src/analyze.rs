//! The analyzer interface: what an analyzer sees of one item ([`ItemView`]) and what it
//! declares and returns ([`Analyzer`]). Producers (evidence, media, vision, comms, text)
//! depend on this and on [`crate::model`], not on the engine that runs them.
//!
//! An analyzer is a pure function of one item: it declares what it accepts, reads only the
//! [`ItemView`], and returns observations. It never writes to the store; the engine does.
//! A panic inside one is caught by the engine and recorded as that item's error.

use std::sync::Arc;

use crate::evidence::digest::FileDigests;
use crate::evidence::typing::ContentType;
use crate::evidence::walk::WalkEntry;
pub use crate::model::{Analysis, ObservationDraft};

/// What an analyzer sees of one item.
pub struct ItemView<'a> {
    pub source_label: &'a str,
    pub entry: &'a WalkEntry,
    pub digests: Option<&'a FileDigests>,
    pub content_type: Option<&'a ContentType>,
    /// The first bytes of the content (up to `digest::HEAD_LEN`).
    pub head: &'a [u8],
    /// The whole content, when an analyzer asked for it (`Analyzer::wants_content`).
    pub content: Option<&'a [u8]>,
    /// The decoded picture (orientation applied), for images the engine could decode and for
    /// video frames; decoded once per item whatever the number of analyzers using it.
    pub image: Option<&'a image::DynamicImage>,
    /// What decoded `image` ("image 0.25", "libheif", "ffmpeg 5.1 …").
    pub decoder: &'a str,
    /// Reads the file beside this one whose name is this one's plus a suffix (a database's
    /// `-wal`), read-only, up to a size limit: None when there is none, or for items that are
    /// not files of the evidence (a video frame, an attachment).
    pub companion: Option<&'a Companion<'a>>,
    /// Opens this item's file again, read-only, for an analyzer that streams a file too large
    /// to be handed over in memory (an mbox of several GB). None for items that are not files
    /// of the evidence.
    pub reopen: Option<&'a Reopen<'a>>,
    /// False for a copy of a container whose contents the engine has already expanded within
    /// the same evidence file (the sixteen identical zips of a 42.zip-style nest): an
    /// analyzer that only extracts files (a zip) then describes it without extracting again.
    pub expand: bool,
}

/// See [`ItemView::reopen`].
pub type Reopen<'a> = dyn Fn() -> Result<std::fs::File, String> + 'a;

/// See [`ItemView::companion`]: `Some(Ok(bytes))`, `Some(Err(reason))` when it exists but
/// cannot be read, `None` when there is no such file.
pub type Companion<'a> = dyn Fn(&str) -> Option<Result<Vec<u8>, String>> + 'a;

pub trait Analyzer: Send + Sync {
    fn name(&self) -> &'static str;
    fn version(&self) -> &'static str;
    /// The measured or known error margin, shown with every lead that rests on it.
    fn error_margin(&self) -> &'static str;
    fn accepts(&self, item: &ItemView) -> bool;
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String>;
    /// Like `analyze`, for input that is damaged but partly usable: the observations of what
    /// could be read, and the damage, which the engine records as error records of this
    /// analyzer beside them (nothing read is lost, nothing damaged goes unsaid).
    fn analyze_partial(
        &self,
        item: &ItemView,
    ) -> Result<(Vec<ObservationDraft>, Vec<String>), String> {
        self.analyze(item).map(|o| (o, Vec::new()))
    }
    /// Everything at once; the engine calls this. Parsers that make records override it.
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        self.analyze_partial(item)
            .map(|(observations, damage)| Analysis {
                observations,
                damage,
                ..Default::default()
            })
    }
    /// Whether the engine should keep the whole content of a file of this type and size in
    /// memory while hashing it (read once, handed over in `ItemView::content`).
    fn wants_content(&self, _content_type: &ContentType, _size: u64) -> bool {
        false
    }
    /// As [`Analyzer::wants_content`], once the file's first bytes (`head`, up to
    /// `digest::HEAD_LEN`) are read: an analyzer that recognises its formats by content asks
    /// for the whole file only when one is there.
    fn wants_content_of(&self, content_type: &ContentType, size: u64, head: &[u8]) -> bool {
        let _ = head;
        self.wants_content(content_type, size)
    }
    /// Whether this analyzer needs pictures at full resolution (OCR). Otherwise the engine
    /// may decode a JPEG at a DCT-reduced scale whose both sides are at least the largest
    /// `min_picture_side` of the scan's analyzers and the thumbnail's 256 px
    /// (`media::turbojpeg`).
    fn needs_full_resolution(&self) -> bool {
        false
    }
    /// The least side, in pixels, this analyzer needs of a picture (a model: its input).
    fn min_picture_side(&self) -> u32 {
        0
    }
}

/// A shared analyzer (a loaded model, whose sessions are made once per scan) is an analyzer.
impl<T: Analyzer + ?Sized> Analyzer for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn version(&self) -> &'static str {
        (**self).version()
    }
    fn error_margin(&self) -> &'static str {
        (**self).error_margin()
    }
    fn accepts(&self, item: &ItemView) -> bool {
        (**self).accepts(item)
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        (**self).analyze(item)
    }
    fn analyze_partial(
        &self,
        item: &ItemView,
    ) -> Result<(Vec<ObservationDraft>, Vec<String>), String> {
        (**self).analyze_partial(item)
    }
    fn analyze_full(&self, item: &ItemView) -> Result<Analysis, String> {
        (**self).analyze_full(item)
    }
    fn wants_content(&self, content_type: &ContentType, size: u64) -> bool {
        (**self).wants_content(content_type, size)
    }
    fn wants_content_of(&self, content_type: &ContentType, size: u64, head: &[u8]) -> bool {
        (**self).wants_content_of(content_type, size, head)
    }
    fn needs_full_resolution(&self) -> bool {
        (**self).needs_full_resolution()
    }
    fn min_picture_side(&self) -> u32 {
        (**self).min_picture_side()
    }
}
