//! JPEG decoding at a reduced scale through libjpeg-turbo's TurboJPEG API (Debian's
//! `libturbojpeg0`), loaded at run time as libheif and libcrypto are: without the library, or
//! when no reduction serves the scan's consumers, pictures decode at full size as before.
//!
//! Why: a 12 MP photo decoded whole feeds consumers that need a fraction of it (PDQ and the
//! models work on at most a few hundred pixels a side, the thumbnail on 256). libjpeg's DCT
//! scaling skips most of the inverse transform and the colour conversion at 1/2, 1/4 or 1/8,
//! and it is the decoder Pillow uses (its `draft()`), so scores match a careful Python peer.
//! Which scale: the smallest whose both sides still reach `Need::min_side`, the largest
//! input of the scan's models (at least the thumbnail's 256 px).

use std::ffi::{c_int, c_ulong, c_void};
use std::sync::OnceLock;

/// What the scan's consumers need of a picture: both sides at least `min_side` pixels (the
/// rule of Pillow's `draft()`, so that a peer decoding with it sees the same pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub min_side: u32,
}

/// The thumbnail's side: the least any scan needs.
pub const THUMBNAIL_SIDE: u32 = crate::media::thumbs::MAX_SIDE;

type InitDecompress = unsafe extern "C" fn() -> *mut c_void;
type DecompressHeader3 = unsafe extern "C" fn(
    *mut c_void,
    *const u8,
    c_ulong,
    *mut c_int,
    *mut c_int,
    *mut c_int,
    *mut c_int,
) -> c_int;
type Decompress2 = unsafe extern "C" fn(
    *mut c_void,
    *const u8,
    c_ulong,
    *mut u8,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
) -> c_int;
type Destroy = unsafe extern "C" fn(*mut c_void) -> c_int;

/// `TJPF_RGB`: three bytes a pixel, R G B.
const PIXEL_RGB: c_int = 0;

struct TurboJpeg {
    init: InitDecompress,
    header: DecompressHeader3,
    decompress: Decompress2,
    destroy: Destroy,
    _lib: libloading::Library,
}

const CANDIDATES: &[&str] = &["libturbojpeg.so.0", "libturbojpeg.0.dylib"];

fn library() -> Option<&'static TurboJpeg> {
    static LIB: OnceLock<Option<TurboJpeg>> = OnceLock::new();
    LIB.get_or_init(|| {
        if std::env::var("SPOOR_DECODE").is_ok_and(|v| v == "full") {
            return None;
        }
        CANDIDATES.iter().find_map(|name| {
            // SAFETY: loading libturbojpeg runs no initialiser with side effects.
            let lib = unsafe { libloading::Library::new(name) }.ok()?;
            // SAFETY: the signatures are TurboJPEG's (turbojpeg.h, stable since 1.2); the
            // Library lives in the struct as long as the pointers.
            unsafe {
                Some(TurboJpeg {
                    init: *lib.get(b"tjInitDecompress\0").ok()?,
                    header: *lib.get(b"tjDecompressHeader3\0").ok()?,
                    decompress: *lib.get(b"tjDecompress2\0").ok()?,
                    destroy: *lib.get(b"tjDestroy\0").ok()?,
                    _lib: lib,
                })
            }
        })
    })
    .as_ref()
}

/// Whether libturbojpeg could be loaded.
pub fn available() -> bool {
    library().is_some()
}

/// The denominator (1, 2, 4 or 8) of the smallest scale that still serves `need` for a
/// `width` x `height` picture (1: the full size).
pub fn scale_for(width: u32, height: u32, need: Need) -> u32 {
    [8u32, 4, 2]
        .into_iter()
        .find(|&k| width.div_ceil(k).min(height.div_ceil(k)) >= need.min_side)
        .unwrap_or(1)
}

/// The picture at the smallest DCT scale that serves `need` (the full size when none
/// smaller does), with the scale's denominator; `Ok(None)` when the library is missing or
/// the file does not decode (the caller decodes as before and reports what is wrong).
/// Orientation is not applied here.
pub fn decode_scaled(bytes: &[u8], need: Need) -> Result<Option<(image::RgbImage, u32)>, String> {
    let Some(lib) = library() else {
        return Ok(None);
    };
    // SAFETY: the handle is made and destroyed here; every buffer passed is valid for the
    // length given, and the output buffer is sized for the dimensions asked for.
    unsafe {
        let handle = (lib.init)();
        if handle.is_null() {
            return Ok(None);
        }
        let (mut w, mut h, mut sub, mut space) = (0, 0, 0, 0);
        let ok = (lib.header)(
            handle,
            bytes.as_ptr(),
            bytes.len() as c_ulong,
            &mut w,
            &mut h,
            &mut sub,
            &mut space,
        ) == 0;
        // Past the size limit the full decoder refuses the picture with its reason.
        let within = w as u32 <= super::MAX_IMAGE_SIDE && h as u32 <= super::MAX_IMAGE_SIDE;
        // At full size too: the same decoder as at a reduced scale, and as Pillow's.
        let scale = (ok && w > 0 && h > 0 && within).then(|| scale_for(w as u32, h as u32, need));
        let Some(k) = scale else {
            (lib.destroy)(handle);
            return Ok(None);
        };
        let (sw, sh) = ((w as u32).div_ceil(k), (h as u32).div_ceil(k));
        let mut pixels = vec![0u8; sw as usize * sh as usize * 3];
        let rc = (lib.decompress)(
            handle,
            bytes.as_ptr(),
            bytes.len() as c_ulong,
            pixels.as_mut_ptr(),
            sw as c_int,
            0,
            sh as c_int,
            PIXEL_RGB,
            0,
        );
        (lib.destroy)(handle);
        if rc != 0 {
            // A damaged file: the full decoder says what is wrong with it, as before.
            return Ok(None);
        }
        Ok(image::RgbImage::from_raw(sw, sh, pixels).map(|img| (img, k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_scale_that_serves_both_sides() {
        let need = Need { min_side: 416 };
        assert_eq!(scale_for(4032, 3024, need), 4); // 1008 x 756; 1/8 is 504 x 378
        assert_eq!(scale_for(8000, 6000, need), 8); // 1000 x 750
        assert_eq!(scale_for(1600, 1200, need), 2); // 800 x 600
        assert_eq!(scale_for(2048, 1536, need), 2); // 1/4 is 512 x 384
        assert_eq!(scale_for(1024, 768, need), 1);
        assert_eq!(scale_for(4032, 1008, need), 2); // a panorama: 2016 x 504
        assert_eq!(scale_for(640, 480, Need { min_side: 256 }), 1);
        assert_eq!(scale_for(4032, 3024, Need { min_side: 256 }), 8);
    }

    #[test]
    fn a_reduced_decode_has_the_scaled_size_and_the_picture() {
        if !available() {
            eprintln!("SKIPPED: libturbojpeg.so.0 is not installed");
            return;
        }
        let img = image::RgbImage::from_fn(1000, 600, |x, _| image::Rgb([(x / 4) as u8, 128, 30]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .unwrap();
        let (small, k) = decode_scaled(&jpeg, Need { min_side: 256 })
            .unwrap()
            .unwrap();
        assert_eq!((k, small.width(), small.height()), (2, 500, 300));
        // The gradient survives the reduction: column 400 of 500 is column 800 of 1000.
        let red = small.get_pixel(400, 150)[0] as i32;
        assert!((red - 200).abs() <= 3, "{red}");
        let (whole, k) = decode_scaled(&jpeg, Need { min_side: 400 })
            .unwrap()
            .unwrap();
        assert_eq!((k, whole.width()), (1, 1000));
        // Not a JPEG: left to the full decoder, which says what is wrong.
        assert!(
            decode_scaled(b"not a jpeg", Need { min_side: 256 })
                .unwrap()
                .is_none()
        );
    }
}
