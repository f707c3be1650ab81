//! HEIC / HEIF / AVIF decoding through libheif (Debian's `libheif1`), loaded at run time.
//!
//! Loaded with `dlopen` rather than linked, for the same reason ONNX Runtime is: spoor builds
//! and runs on a machine without the library, and there a HEIC photo becomes an error record
//! that names the missing package instead of the whole program failing to start. Only the
//! dozen functions of libheif's stable C API (present since 1.3) that decoding needs are used,
//! so any libheif 1.x serves; Debian 12 ships 1.15, which the Rust wrapper crate (>= 1.17) does
//! not support.
//!
//! libheif applies the container's rotation and mirroring (`irot`/`imir`) while decoding; in
//! HEIF those, not the EXIF Orientation tag, are authoritative, so no EXIF rotation is added.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

#[repr(C)]
#[derive(Clone, Copy)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

type ContextAlloc = unsafe extern "C" fn() -> *mut c_void;
type ContextFree = unsafe extern "C" fn(*mut c_void);
type ReadFromMemory =
    unsafe extern "C" fn(*mut c_void, *const c_void, usize, *const c_void) -> HeifError;
type PrimaryHandle = unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> HeifError;
type HandleDimension = unsafe extern "C" fn(*const c_void) -> c_int;
type HandleRelease = unsafe extern "C" fn(*const c_void);
type DecodeImage =
    unsafe extern "C" fn(*const c_void, *mut *mut c_void, c_int, c_int, *const c_void) -> HeifError;
type ImageDimension = unsafe extern "C" fn(*const c_void, c_int) -> c_int;
type PlaneReadonly = unsafe extern "C" fn(*const c_void, c_int, *mut c_int) -> *const u8;
type ImageRelease = unsafe extern "C" fn(*const c_void);
type Init = unsafe extern "C" fn(*const c_void) -> HeifError;

const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHANNEL_INTERLEAVED: c_int = 10;

struct LibHeif {
    _lib: libloading::Library,
    context_alloc: ContextAlloc,
    context_free: ContextFree,
    read_from_memory: ReadFromMemory,
    primary_handle: PrimaryHandle,
    handle_width: HandleDimension,
    handle_height: HandleDimension,
    handle_release: HandleRelease,
    decode_image: DecodeImage,
    image_width: ImageDimension,
    image_height: ImageDimension,
    plane_readonly: PlaneReadonly,
    image_release: ImageRelease,
}

/// Library names tried in order; `SPOOR_LIBHEIF` (a path) overrides.
const CANDIDATES: &[&str] = &["libheif.so.1", "libheif.so", "libheif.1.dylib"];

fn library() -> Result<&'static LibHeif, &'static str> {
    static LIB: OnceLock<Result<LibHeif, String>> = OnceLock::new();
    LIB.get_or_init(load).as_ref().map_err(|e| e.as_str())
}

fn load() -> Result<LibHeif, String> {
    let names: Vec<String> = match std::env::var("SPOOR_LIBHEIF") {
        Ok(path) => vec![path],
        Err(_) => CANDIDATES.iter().map(|s| s.to_string()).collect(),
    };
    let mut last = String::new();
    for name in &names {
        // SAFETY: loading libheif runs its initialisers, which only register its codecs.
        match unsafe { libloading::Library::new(name) } {
            Ok(lib) => return bind(lib).map_err(|e| format!("{name}: {e}")),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "libheif is not installed ({last}); install the libheif1 package (or set SPOOR_LIBHEIF) to decode HEIC/HEIF/AVIF"
    ))
}

fn bind(lib: libloading::Library) -> Result<LibHeif, libloading::Error> {
    // SAFETY: each symbol is declared with the signature of libheif's C API (heif.h, stable
    // since 1.3); the Library is kept alive in the struct as long as the pointers.
    unsafe {
        if let Ok(init) = lib.get::<Init>(b"heif_init\0") {
            // Reference counted and optional before 1.13; registers the decoder plugins.
            let _ = init(std::ptr::null());
        }
        Ok(LibHeif {
            context_alloc: *lib.get(b"heif_context_alloc\0")?,
            context_free: *lib.get(b"heif_context_free\0")?,
            read_from_memory: *lib.get(b"heif_context_read_from_memory_without_copy\0")?,
            primary_handle: *lib.get(b"heif_context_get_primary_image_handle\0")?,
            handle_width: *lib.get(b"heif_image_handle_get_width\0")?,
            handle_height: *lib.get(b"heif_image_handle_get_height\0")?,
            handle_release: *lib.get(b"heif_image_handle_release\0")?,
            decode_image: *lib.get(b"heif_decode_image\0")?,
            image_width: *lib.get(b"heif_image_get_width\0")?,
            image_height: *lib.get(b"heif_image_get_height\0")?,
            plane_readonly: *lib.get(b"heif_image_get_plane_readonly\0")?,
            image_release: *lib.get(b"heif_image_release\0")?,
            _lib: lib,
        })
    }
}

/// Whether libheif could be loaded (for messages and tests).
pub fn available() -> Result<(), &'static str> {
    library().map(|_| ())
}

fn check(err: HeifError, what: &str) -> Result<(), String> {
    if err.code == 0 {
        return Ok(());
    }
    let message = if err.message.is_null() {
        String::from("no message")
    } else {
        // SAFETY: libheif documents the message as always defined, NUL-terminated, static.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    Err(format!("{what}: {message} (libheif error {})", err.code))
}

/// Frees what it holds when dropped, whichever way decoding ends.
struct Guard<'a> {
    lib: &'a LibHeif,
    ctx: *mut c_void,
    handle: *mut c_void,
    image: *mut c_void,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was returned by the matching libheif allocation.
        unsafe {
            if !self.image.is_null() {
                (self.lib.image_release)(self.image);
            }
            if !self.handle.is_null() {
                (self.lib.handle_release)(self.handle);
            }
            if !self.ctx.is_null() {
                (self.lib.context_free)(self.ctx);
            }
        }
    }
}

/// Decodes the primary image to RGB, refusing from the header anything over `max_side` or
/// `max_bytes` of pixels.
pub fn decode(bytes: &[u8], max_side: u32, max_bytes: u64) -> Result<image::RgbImage, String> {
    let lib = library().map_err(|e| e.to_string())?;
    // SAFETY: every call follows heif.h; the guard frees in reverse order of allocation; `bytes`
    // outlives the context that reads it without copying.
    unsafe {
        let mut g = Guard {
            lib,
            ctx: (lib.context_alloc)(),
            handle: std::ptr::null_mut(),
            image: std::ptr::null_mut(),
        };
        if g.ctx.is_null() {
            return Err("libheif: out of memory".into());
        }
        check(
            (lib.read_from_memory)(g.ctx, bytes.as_ptr().cast(), bytes.len(), std::ptr::null()),
            "HEIF container",
        )?;
        check(
            (lib.primary_handle)(g.ctx, &mut g.handle),
            "HEIF primary image",
        )?;
        let (w, h) = ((lib.handle_width)(g.handle), (lib.handle_height)(g.handle));
        if w <= 0 || h <= 0 {
            return Err(format!("HEIF image of {w}x{h}"));
        }
        let (w, h) = (w as u32, h as u32);
        if w > max_side || h > max_side || w as u64 * h as u64 * 3 > max_bytes {
            return Err(format!(
                "decode: {w}x{h} is over the limit ({max_side} px a side, {} MiB of pixels)",
                max_bytes >> 20
            ));
        }
        check(
            (lib.decode_image)(
                g.handle,
                &mut g.image,
                COLORSPACE_RGB,
                CHROMA_INTERLEAVED_RGB,
                std::ptr::null(),
            ),
            "HEIF decode",
        )?;
        let iw = (lib.image_width)(g.image, CHANNEL_INTERLEAVED);
        let ih = (lib.image_height)(g.image, CHANNEL_INTERLEAVED);
        let mut stride: c_int = 0;
        let plane = (lib.plane_readonly)(g.image, CHANNEL_INTERLEAVED, &mut stride);
        if plane.is_null() || iw <= 0 || ih <= 0 || (stride as i64) < iw as i64 * 3 {
            return Err("HEIF decode: libheif returned no RGB plane".into());
        }
        // Rotation can swap the sides; check again against what came out.
        let (iw, ih, stride) = (iw as usize, ih as usize, stride as usize);
        if iw as u64 * ih as u64 * 3 > max_bytes {
            return Err("HEIF decode: decoded image is over the pixel limit".into());
        }
        let mut out = Vec::with_capacity(iw * ih * 3);
        for row in 0..ih {
            let line = std::slice::from_raw_parts(plane.add(row * stride), iw * 3);
            out.extend_from_slice(line);
        }
        image::RgbImage::from_raw(iw as u32, ih as u32, out)
            .ok_or_else(|| "HEIF decode: plane size mismatch".into())
    }
}
