//! Pre-processing shared by the models, written so that a numpy script can repeat it exactly
//! (scripts/vision_reference.py does, for the correctness tests): a k x k integer block average
//! brings a large photo down to at most twice the target side (so nothing aliases), then
//! bilinear sampling at pixel centres gives the exact size.

use super::manifest::InputSpec;
use crate::media::thumbs::block_average;

/// RGB, `width x height`, as f32 in 0..=255, row-major, interleaved.
pub struct RgbF32 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// The integer factor of the block average before resizing to `target` (0 or 1: none).
pub fn reduction(width: u32, height: u32, target: u32) -> u32 {
    (width.min(height) / (2 * target)).max(1)
}

/// Resizes to exactly `out_w x out_h` (aspect not kept; the models were trained that way).
pub fn resize(img: &image::RgbImage, out_w: usize, out_h: usize) -> RgbF32 {
    let k = reduction(img.width(), img.height(), out_w.min(out_h) as u32);
    let reduced;
    let src = if k > 1 {
        reduced = block_average(img, k);
        &reduced
    } else {
        img
    };
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let raw = src.as_raw();
    let (sx, sy) = (in_w as f32 / out_w as f32, in_h as f32 / out_h as f32);
    // Source coordinate, neighbours and weight along one axis, for every output position.
    let axis = |out: usize, scale: f32, len: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|o| {
                let p = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, (len - 1) as f32);
                let i0 = p.floor() as usize;
                let i1 = (i0 + 1).min(len - 1);
                (i0, i1, p - i0 as f32)
            })
            .collect()
    };
    let xs = axis(out_w, sx, in_w);
    let ys = axis(out_h, sy, in_h);
    // Separable: each source row a later output row needs is interpolated along x once, into
    // one of two row buffers, then every output row mixes its two. The same f32 operations in
    // the same order as interpolating all four neighbours per output value (bit for bit:
    // tested), at about half the work: the per-value form was 2.5 % of a NanoDet scan's CPU.
    let along_x = |y: usize, row: &mut Vec<f32>| {
        row.clear();
        let line = &raw[y * in_w * 3..(y + 1) * in_w * 3];
        for &(x0, x1, fx) in &xs {
            for c in 0..3 {
                row.push(line[x0 * 3 + c] as f32 * (1.0 - fx) + line[x1 * 3 + c] as f32 * fx);
            }
        }
    };
    let (mut upper, mut lower) = (Vec::with_capacity(out_w * 3), Vec::with_capacity(out_w * 3));
    let (mut upper_y, mut lower_y) = (usize::MAX, usize::MAX);
    let mut data = Vec::with_capacity(out_w * out_h * 3);
    for &(y0, y1, fy) in &ys {
        if upper_y != y0 {
            if lower_y == y0 {
                std::mem::swap(&mut upper, &mut lower);
                std::mem::swap(&mut upper_y, &mut lower_y);
            } else {
                along_x(y0, &mut upper);
                upper_y = y0;
            }
        }
        if lower_y != y1 {
            along_x(y1, &mut lower);
            lower_y = y1;
        }
        data.extend(
            upper
                .iter()
                .zip(&lower)
                .map(|(&top, &bottom)| top * (1.0 - fy) + bottom * fy),
        );
    }
    RgbF32 {
        width: out_w,
        height: out_h,
        data,
    }
}

/// The input tensor for a picture, as a manifest input spec says, and the factors that take a
/// point of the model's input back to the picture's pixels (x, y).
pub fn tensor(spec: &InputSpec, img: &image::RgbImage) -> (ndarray::Array4<f32>, [f32; 2]) {
    let (w, h) = (spec.width, spec.height);
    let (iw, ih) = (img.width().max(1) as f32, img.height().max(1) as f32);
    // The size the picture is resized to, and where the model's window lies in it.
    let (rw, rh, ox, oy, back) = match (spec.resize, spec.fit.as_str()) {
        (Some(r), _) => (
            r,
            r,
            (r - w) / 2,
            (r - h) / 2,
            [iw / r as f32, ih / r as f32],
        ),
        (None, "pad") => {
            let s = (w as f32 / iw).min(h as f32 / ih);
            let rw = ((iw * s).round() as usize).clamp(1, w);
            let rh = ((ih * s).round() as usize).clamp(1, h);
            (rw, rh, 0, 0, [iw / rw as f32, ih / rh as f32])
        }
        _ => (w, h, 0, 0, [iw / w as f32, ih / h as f32]),
    };
    let r = resize(img, rw, rh);
    let order: [usize; 3] = if spec.channels == "BGR" {
        [2, 1, 0]
    } else {
        [0, 1, 2]
    };
    let nchw = spec.layout == "NCHW";
    let mut t = if nchw {
        ndarray::Array4::<f32>::zeros((1, 3, h, w))
    } else {
        ndarray::Array4::<f32>::zeros((1, h, w, 3))
    };
    // Written through the flat buffer (a fresh array is in standard layout): indexing the
    // 4-D array value by value was 1.7 % of a NanoDet scan's CPU.
    let flat = t.as_slice_mut().expect("a new array is contiguous");
    for y in 0..h {
        for x in 0..w {
            // Outside the resized picture (the `pad` fit): a black pixel.
            let inside = x + ox < rw && y + oy < rh;
            let p = ((y + oy) * rw + x + ox) * 3;
            for (c, &from) in order.iter().enumerate() {
                let px = if inside { r.data[p + from] } else { 0.0 };
                let v = (px * spec.scale - spec.mean[c]) / spec.std[c];
                let at = if nchw {
                    (c * h + y) * w + x
                } else {
                    (y * w + x) * 3 + c
                };
                flat[at] = v;
            }
        }
    }
    (t, back)
}

#[cfg(test)]
mod tests {
    /// The separable resize gives the values of interpolating the four neighbours of each
    /// output value directly, bit for bit, reducing and enlarging, on odd sizes.
    #[test]
    fn separable_resize_equals_the_four_neighbour_form_bit_for_bit() {
        let mut seed = 12345u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        for (w, h, ow, oh) in [
            (640, 427, 416, 416),
            (300, 200, 224, 224),
            (50, 37, 128, 96),
            (1, 1, 4, 3),
            (417, 415, 416, 416),
        ] {
            let img = image::RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]));
            let got = super::resize(&img, ow, oh);
            let k = super::reduction(w, h, ow.min(oh) as u32);
            let src = if k > 1 {
                super::block_average(&img, k)
            } else {
                img.clone()
            };
            let (iw, ih) = (src.width() as usize, src.height() as usize);
            let raw = src.as_raw();
            let (sx, sy) = (iw as f32 / ow as f32, ih as f32 / oh as f32);
            let pos = |o: usize, scale: f32, len: usize| {
                let p = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, (len - 1) as f32);
                let i0 = p.floor() as usize;
                (i0, (i0 + 1).min(len - 1), p - i0 as f32)
            };
            let mut want = Vec::new();
            for oy in 0..oh {
                let (y0, y1, fy) = pos(oy, sy, ih);
                for ox in 0..ow {
                    let (x0, x1, fx) = pos(ox, sx, iw);
                    for c in 0..3 {
                        let at = |x: usize, y: usize| raw[(y * iw + x) * 3 + c] as f32;
                        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
                        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
                        want.push(top * (1.0 - fy) + bottom * fy);
                    }
                }
            }
            assert_eq!(got.data.len(), want.len());
            assert!(
                got.data
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{w}x{h} -> {ow}x{oh}"
            );
        }
    }

    #[test]
    fn resize_keeps_a_flat_image_flat_and_interpolates_between_pixels() {
        let flat = image::RgbImage::from_pixel(640, 480, image::Rgb([10, 20, 30]));
        let out = super::resize(&flat, 224, 224);
        assert!(out.data.chunks(3).all(|p| p == [10.0, 20.0, 30.0]));
        // 2 x 1 -> 4 x 1: centres at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let two = image::RgbImage::from_fn(2, 1, |x, _| image::Rgb([(x * 100) as u8, 0, 0]));
        let out = super::resize(&two, 4, 1);
        let reds: Vec<f32> = out.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(reds, vec![0.0, 25.0, 75.0, 100.0]);
    }
}
