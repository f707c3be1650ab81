//! OCR with PP-OCR (the `ppocr` head): PP-OCRv6 text detection with DB post-processing, the
//! PP-OCR angle classifier, and PP-OCRv6 recognition with greedy CTC over the dictionary the
//! recognition model carries in its metadata (`character`). Follows RapidOCR 3.10's defaults
//! (docs/models.md): det input short side >= 736 after a 2000 px cap on the long side, sides
//! multiples of 32; binarise at 0.3 and dilate 2 x 2; boxes scored >= 0.5, unclipped by
//! area x 1.6 / perimeter; lines rotated 180 degrees when the classifier says so at > 0.9;
//! lines read at height 48; lines whose mean character score is < 0.5 dropped.
//!
//! Two simplifications against RapidOCR, both visible in the outputs' boxes only: text
//! regions are 8-connected components of the binarised map (OpenCV's contour list also holds
//! the holes), and crops are sampled bilinearly instead of bicubically.

use std::path::Path;

use serde_json::json;

use super::manifest::ModelEntry;
use super::preprocess::resize;
use super::session::{ModelFile, fits};
use crate::analyze::{Analyzer, ItemView, ObservationDraft};

const DET_MIN_SIDE: f32 = 736.0;
const DET_MAX_SIDE: f32 = 2000.0;
const BIN_THRESHOLD: f32 = 0.3;
const BOX_THRESHOLD: f32 = 0.5;
const UNCLIP_RATIO: f32 = 1.6;
const MIN_SIDE: f32 = 3.0;
const CLS_THRESHOLD: f32 = 0.9;
const TEXT_THRESHOLD: f32 = 0.5;
const REC_HEIGHT: usize = 48;
const REC_MIN_WIDTH: usize = 320;
const CLS_WIDTH: usize = 192;

/// One line of recognised text, its box's corners in the picture (top-left, top-right,
/// bottom-right, bottom-left) and its scores.
#[derive(Clone, Debug)]
pub struct Line {
    pub text: String,
    pub score: f32,
    pub box_score: f32,
    pub corners: [[f32; 2]; 4],
    pub rotated: bool,
}

pub struct Ocr {
    pub entry: ModelEntry,
    det: ModelFile,
    cls: Option<ModelFile>,
    rec: ModelFile,
    /// Index 0 is CTC's blank; then the dictionary; then the space.
    characters: Vec<String>,
    name: &'static str,
    error_margin: &'static str,
}

impl Ocr {
    pub fn load(entry: &ModelEntry, dir: &Path, workers: usize) -> Result<Ocr, String> {
        let name = &entry.name;
        let det = ModelFile::load(name, &entry.path(dir), entry.sha256.as_deref(), workers)?;
        let part = |key: &str| -> Result<Option<ModelFile>, String> {
            entry
                .parts
                .get(key)
                .map(|p| {
                    ModelFile::load(
                        &format!("{name}.{key}"),
                        &dir.join(&p.file),
                        p.sha256.as_deref(),
                        workers,
                    )
                })
                .transpose()
        };
        let cls = part("cls")?;
        let rec = part("rec")?.ok_or_else(|| format!("model {name}: no parts.rec"))?;
        let check = |m: &ModelFile, input: &[i64], out_rank: usize| {
            let (i, o) = m.signature();
            if i.len() != 1
                || !fits(&i[0], input)
                || o.first().is_none_or(|o| o.1.len() != out_rank)
            {
                return Err(format!(
                    "model {}: tensors {i:?} -> {o:?} do not fit the ppocr head (input {input:?})",
                    m.model
                ));
            }
            Ok(())
        };
        check(&det, &[-1, 3, -1, -1], 4)?;
        check(&rec, &[-1, 3, REC_HEIGHT as i64, -1], 3)?;
        if let Some(c) = &cls {
            check(c, &[-1, 3, -1, -1], 2)?;
        }
        let dictionary = rec.metadata("character").ok_or_else(|| {
            format!("model {name}: the recognition model has no `character` metadata")
        })?;
        let mut characters = vec![String::new()];
        characters.extend(dictionary.lines().map(str::to_string));
        characters.push(" ".into());
        let (_, outputs) = rec.signature();
        if let Some(classes) = outputs[0].1.get(2).filter(|c| **c > 0)
            && *classes as usize != characters.len()
        {
            return Err(format!(
                "model {name}: the recognition model has {classes} classes but its dictionary makes {}",
                characters.len()
            ));
        }
        Ok(Ocr {
            entry: entry.clone(),
            det,
            cls,
            rec,
            characters,
            name: Box::leak(entry.name.clone().into_boxed_str()),
            error_margin: Box::leak(entry.error_margin.clone().into_boxed_str()),
        })
    }

    /// The size the detector sees a `w x h` picture at.
    pub fn det_size(w: u32, h: u32) -> (usize, usize) {
        let (w, h) = (w.max(1) as f32, h.max(1) as f32);
        let mut s = (DET_MAX_SIDE / w.max(h)).min(1.0);
        if w.min(h) * s < DET_MIN_SIDE {
            s = DET_MIN_SIDE / w.min(h);
        }
        // A banner (20,000 x 20) would be scaled to 736,000 px wide by the rule above: the long
        // side stays within 2 x DET_MAX_SIDE, and the short side gives way instead.
        s = s.min(2.0 * DET_MAX_SIDE / w.max(h));
        // Python's round: ties to even (2000 / 32 = 62.5 gives 62).
        let round32 = |v: f32| (((v.floor() / 32.0).round_ties_even() as usize) * 32).max(32);
        (round32(w * s), round32(h * s))
    }

    /// The detector's text probability map for a picture, and its size.
    pub fn probability_map(
        &self,
        img: &image::RgbImage,
    ) -> Result<(Vec<f32>, usize, usize), String> {
        let (w, h) = Self::det_size(img.width(), img.height());
        let input = normalised_bgr(&resize(img, w, h).data, w, h, w);
        let out = self.det.run(&input)?;
        let map = out.into_iter().next().ok_or("no detector output")?;
        if map.shape.len() != 4 || map.shape[2] != h || map.shape[3] != w {
            return Err(format!(
                "{}: the detector gave {:?} for {w} x {h}",
                self.entry.name, map.shape
            ));
        }
        Ok((map.data, w, h))
    }

    /// The recognition model's per-step class probabilities for one text line crop.
    pub fn recognise_raw(&self, line: &image::RgbImage) -> Result<(Vec<f32>, usize), String> {
        let (w, h) = (line.width().max(1) as f32, line.height().max(1) as f32);
        let ratio = w / h;
        let width = ((REC_HEIGHT as f32 * ratio.max(REC_MIN_WIDTH as f32 / REC_HEIGHT as f32))
            as usize)
            .max(1);
        let resized_w = ((REC_HEIGHT as f32 * ratio).ceil() as usize).clamp(1, width);
        let r = resize(line, resized_w, REC_HEIGHT);
        let input = normalised_bgr(&r.data, resized_w, REC_HEIGHT, width);
        let out = self.rec.run(&input)?;
        let o = out.into_iter().next().ok_or("no recogniser output")?;
        let steps = o.shape.get(1).copied().unwrap_or(0);
        Ok((o.data, steps))
    }

    /// Greedy CTC: the best class per step, repeats merged, blanks dropped; the score is the
    /// mean probability of the kept characters.
    pub fn decode(&self, probs: &[f32], steps: usize) -> (String, f32) {
        let classes = self.characters.len();
        let mut text = String::new();
        let (mut sum, mut kept) = (0f32, 0usize);
        let mut last = usize::MAX;
        for t in 0..steps {
            let row = &probs[t * classes..(t + 1) * classes];
            let (best, p) = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, p)| (i, *p))
                .unwrap_or((0, 0.0));
            if best != 0 && best != last {
                text.push_str(&self.characters[best]);
                sum += p;
                kept += 1;
            }
            last = best;
        }
        (text, if kept == 0 { 0.0 } else { sum / kept as f32 })
    }

    /// Whether the angle classifier says the line is upside down.
    fn upside_down(&self, line: &image::RgbImage) -> Result<bool, String> {
        let Some(cls) = &self.cls else {
            return Ok(false);
        };
        let ratio = line.width().max(1) as f32 / line.height().max(1) as f32;
        let resized_w = ((REC_HEIGHT as f32 * ratio).ceil() as usize).clamp(1, CLS_WIDTH);
        let r = resize(line, resized_w, REC_HEIGHT);
        let out = cls.run(&normalised_bgr(&r.data, resized_w, REC_HEIGHT, CLS_WIDTH))?;
        let p = out.first().map(|o| o.data.clone()).unwrap_or_default();
        Ok(p.len() == 2 && p[1] > p[0] && p[1] > CLS_THRESHOLD)
    }

    /// Every line of text in a picture, top to bottom, left to right.
    pub fn read(&self, img: &image::RgbImage) -> Result<Vec<Line>, String> {
        if img.width() < 4 || img.height() < 4 {
            return Ok(Vec::new());
        }
        let (map, w, h) = self.probability_map(img)?;
        let mut lines = Vec::new();
        for (corners, box_score) in boxes(&map, w, h, img.width(), img.height()) {
            let mut crop = crop(img, &corners);
            let rotated = self.upside_down(&crop)?;
            if rotated {
                image::imageops::rotate180_in_place(&mut crop);
            }
            let (probs, steps) = self.recognise_raw(&crop)?;
            let (text, score) = self.decode(&probs, steps);
            if score >= TEXT_THRESHOLD && !text.trim().is_empty() {
                lines.push(Line {
                    text,
                    score,
                    box_score,
                    corners,
                    rotated,
                });
            }
        }
        Ok(lines)
    }
}

/// `(x / 255 - 0.5) / 0.5` in BGR, NCHW, right-padded with zeros to `padded_w`.
fn normalised_bgr(rgb: &[f32], w: usize, h: usize, padded_w: usize) -> ndarray::Array4<f32> {
    let mut t = ndarray::Array4::<f32>::zeros((1, 3, h, padded_w));
    for y in 0..h {
        for x in 0..w {
            let p = (y * w + x) * 3;
            for c in 0..3 {
                t[[0, c, y, x]] = (rgb[p + 2 - c] / 255.0 - 0.5) / 0.5;
            }
        }
    }
    t
}

/// Text boxes from a probability map (`w x h`), in the picture's pixels (`iw x ih`), each with
/// its mean probability; sorted top to bottom, then left to right within a line.
pub fn boxes(map: &[f32], w: usize, h: usize, iw: u32, ih: u32) -> Vec<([[f32; 2]; 4], f32)> {
    // Binarise, then dilate with a 2 x 2 kernel (OpenCV's anchor: the pixel and the ones above
    // and to the left).
    let bin: Vec<bool> = map.iter().map(|&p| p > BIN_THRESHOLD).collect();
    let mut mask = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            mask[y * w + x] = bin[y * w + x]
                || (x > 0 && bin[y * w + x - 1])
                || (y > 0 && bin[(y - 1) * w + x])
                || (x > 0 && y > 0 && bin[(y - 1) * w + x - 1]);
        }
    }
    let mut label = vec![0u32; w * h];
    let mut next = 0u32;
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        // Each row's leftmost and rightmost pixel: their hull is the component's hull.
        let mut extremes: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let e = extremes.entry(y).or_insert((x, x));
            e.0 = e.0.min(x);
            e.1 = e.1.max(x);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && label[j] == 0 {
                        label[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        let points: Vec<[f32; 2]> = extremes
            .iter()
            .flat_map(|(&y, &(x0, x1))| [[x0 as f32, y as f32], [x1 as f32, y as f32]])
            .collect();
        let Some(rect) = min_area_rect(&points) else {
            continue;
        };
        if rect.short_side() < MIN_SIDE {
            continue;
        }
        let score = mean_inside(map, w, h, &rect.corners());
        if score < BOX_THRESHOLD {
            continue;
        }
        let (a, l) = (rect.area(), rect.perimeter());
        let grown = rect.grown(if l > 0.0 { a * UNCLIP_RATIO / l } else { 0.0 });
        if grown.short_side() < MIN_SIDE + 2.0 {
            continue;
        }
        let (sx, sy) = (iw as f32 / w as f32, ih as f32 / h as f32);
        let corners = ordered(grown.corners().map(|[x, y]| {
            [
                (x * sx).round().clamp(0.0, iw as f32 - 1.0),
                (y * sy).round().clamp(0.0, ih as f32 - 1.0),
            ]
        }));
        let dist =
            |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        if dist(corners[0], corners[1]) as i64 <= 3 || dist(corners[0], corners[3]) as i64 <= 3 {
            continue;
        }
        out.push((corners, score));
    }
    // Reading order: by top edge, and left to right among boxes whose tops are within 10 px.
    out.sort_by(|a, b| {
        a.0[0][1]
            .total_cmp(&b.0[0][1])
            .then(a.0[0][0].total_cmp(&b.0[0][0]))
    });
    for i in 1..out.len() {
        let mut j = i;
        while j > 0
            && (out[j].0[0][1] - out[j - 1].0[0][1]).abs() < 10.0
            && out[j].0[0][0] < out[j - 1].0[0][0]
        {
            out.swap(j, j - 1);
            j -= 1;
        }
    }
    out
}

/// A rotated rectangle: centre, unit axis, half extents along the axis and its normal.
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    centre: [f32; 2],
    axis: [f32; 2],
    half: [f32; 2],
}

impl Rect {
    fn short_side(&self) -> f32 {
        2.0 * self.half[0].min(self.half[1])
    }
    fn area(&self) -> f32 {
        4.0 * self.half[0] * self.half[1]
    }
    fn perimeter(&self) -> f32 {
        4.0 * (self.half[0] + self.half[1])
    }
    /// The rectangle of the polygon offset outwards by `d` (round joins): each side moves out by `d`.
    fn grown(&self, d: f32) -> Rect {
        Rect {
            half: [self.half[0] + d, self.half[1] + d],
            ..*self
        }
    }
    fn corners(&self) -> [[f32; 2]; 4] {
        let [ux, uy] = self.axis;
        let (vx, vy) = (-uy, ux);
        let [a, b] = self.half;
        let [cx, cy] = self.centre;
        [
            [cx - a * ux - b * vx, cy - a * uy - b * vy],
            [cx + a * ux - b * vx, cy + a * uy - b * vy],
            [cx + a * ux + b * vx, cy + a * uy + b * vy],
            [cx - a * ux + b * vx, cy - a * uy + b * vy],
        ]
    }
}

/// The minimum-area enclosing rectangle (rotating calipers over the convex hull).
pub fn min_area_rect(points: &[[f32; 2]]) -> Option<Rect> {
    let hull = convex_hull(points);
    if hull.is_empty() {
        return None;
    }
    if hull.len() == 1 {
        return Some(Rect {
            centre: hull[0],
            axis: [1.0, 0.0],
            half: [0.0, 0.0],
        });
    }
    let mut best: Option<(f32, Rect)> = None;
    for i in 0..hull.len() {
        let (p, q) = (hull[i], hull[(i + 1) % hull.len()]);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for r in &hull {
            let u = r[0] * ux + r[1] * uy;
            let v = -r[0] * uy + r[1] * ux;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|b| area < b.0) {
            let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
            best = Some((
                area,
                Rect {
                    centre: [cu * ux - cv * uy, cu * uy + cv * ux],
                    axis: [ux, uy],
                    half: [(u1 - u0) / 2.0, (v1 - v0) / 2.0],
                },
            ));
        }
    }
    best.map(|b| b.1)
}

/// Andrew's monotone chain; collinear points dropped.
fn convex_hull(points: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f32; 2]> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f32; 2]>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// Mean probability of the map's pixels whose centre lies in the quadrilateral.
fn mean_inside(map: &[f32], w: usize, h: usize, q: &[[f32; 2]; 4]) -> f32 {
    let x0 = q
        .iter()
        .map(|p| p[0])
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as usize;
    let x1 = (q.iter().map(|p| p[0]).fold(f32::MIN, f32::max).ceil() as usize).min(w - 1);
    let y0 = q
        .iter()
        .map(|p| p[1])
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as usize;
    let y1 = (q.iter().map(|p| p[1]).fold(f32::MIN, f32::max).ceil() as usize).min(h - 1);
    let inside = |x: f32, y: f32| {
        let mut sign = 0f32;
        for i in 0..4 {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            let c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
            if c != 0.0 {
                if sign != 0.0 && c.signum() != sign {
                    return false;
                }
                sign = c.signum();
            }
        }
        true
    };
    let (mut sum, mut n) = (0f32, 0usize);
    for y in y0..=y1.max(y0) {
        for x in x0..=x1.max(x0) {
            if inside(x as f32, y as f32) {
                sum += map[y * w + x];
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { sum / n as f32 }
}

/// Corners as top-left, top-right, bottom-right, bottom-left (by x, then y within each side).
fn ordered(c: [[f32; 2]; 4]) -> [[f32; 2]; 4] {
    let mut by_x = c;
    by_x.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([by_x[0], by_x[1]], [by_x[2], by_x[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

/// The quadrilateral's content as an upright picture (tall crops turned a quarter anticlockwise,
/// as RapidOCR does), sampled bilinearly with edges repeated.
pub fn crop(img: &image::RgbImage, c: &[[f32; 2]; 4]) -> image::RgbImage {
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let w = (dist(c[0], c[1]).max(dist(c[2], c[3])) as u32).max(1);
    let h = (dist(c[0], c[3]).max(dist(c[1], c[2])) as u32).max(1);
    let (iw, ih) = (img.width() as f32, img.height() as f32);
    let sample = |x: f32, y: f32, ch: usize| {
        let x = x.clamp(0.0, iw - 1.0);
        let y = y.clamp(0.0, ih - 1.0);
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (x1, y1) = (
            (x0 + 1).min(img.width() - 1),
            (y0 + 1).min(img.height() - 1),
        );
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |x, y| img.get_pixel(x, y)[ch] as f32;
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    let out = image::RgbImage::from_fn(w, h, |x, y| {
        // Bilinear in the quadrilateral: along the top and bottom edges, then between them.
        // As OpenCV's warp: output pixel (0, 0) samples the first corner exactly.
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let top = [
            c[0][0] + (c[1][0] - c[0][0]) * u,
            c[0][1] + (c[1][1] - c[0][1]) * u,
        ];
        let bottom = [
            c[3][0] + (c[2][0] - c[3][0]) * u,
            c[3][1] + (c[2][1] - c[3][1]) * u,
        ];
        let (sx, sy) = (
            top[0] + (bottom[0] - top[0]) * v,
            top[1] + (bottom[1] - top[1]) * v,
        );
        image::Rgb([0, 1, 2].map(|ch| sample(sx, sy, ch).round().clamp(0.0, 255.0) as u8))
    });
    if h as f32 / w as f32 >= 1.5 {
        image::imageops::rotate270(&out)
    } else {
        out
    }
}

impl Analyzer for Ocr {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> &'static str {
        "1"
    }
    fn error_margin(&self) -> &'static str {
        self.error_margin
    }
    fn accepts(&self, item: &ItemView) -> bool {
        item.image.is_some()
    }
    /// The recogniser reads each line from the picture itself, and fails on small print
    /// once it is reduced: on the OCR fixtures (`scripts/bench-ocr-scale.sh`) every word is
    /// read down to 5-8 px of line ink, 85 % at 4-7 px, 58 % at 3-5 px, 27 % at 2-4 px.
    /// Text 8-12 px high in the original would be half read after a 1/2 DCT-scaled decode
    /// (4-6 px), and a seized picture's smallest print is not known before reading it:
    /// pictures stay whole when OCR runs.
    fn needs_full_resolution(&self) -> bool {
        true
    }
    fn analyze(&self, item: &ItemView) -> Result<Vec<ObservationDraft>, String> {
        self.analyze_full(item).map(|a| a.observations)
    }
    /// The lines read, as an `image.text` observation and as text for the text stage
    /// (which the engine hands it, for its entities).
    fn analyze_full(&self, item: &ItemView) -> Result<crate::model::Analysis, String> {
        let Some(img) = super::rgb(item) else {
            return Ok(Default::default());
        };
        let lines = self.read(&img)?;
        if lines.is_empty() {
            return Ok(Default::default());
        }
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        let mean = lines.iter().map(|l| l.score).sum::<f32>() / lines.len() as f32;
        let joined = text.join("\n");
        let mut out = Vec::new();
        out.push(ObservationDraft {
            kind: crate::model::ObservationKind::ImageText,
            value: json!({
                "model": self.entry.name, "text": text.join("\n"), "lines": lines.iter().map(|l| json!({
                    "text": l.text, "score": l.score, "box_score": l.box_score,
                    "corners": l.corners.iter().map(|p| [p[0], p[1]]).collect::<Vec<_>>(),
                    "rotated_180": l.rotated,
                })).collect::<Vec<_>>(),
                "mean_score": mean,
                "frame": [img.width(), img.height()],
            }),
            confidence: mean as f64,
            provenance: json!({
                "det_sha256": self.det.sha256, "rec_sha256": self.rec.sha256,
                "cls_sha256": self.cls.as_ref().map(|c| c.sha256.clone()),
                "dictionary_size": self.characters.len() - 2,
            }),
        });
        Ok(crate::model::Analysis {
            observations: out,
            texts: vec![crate::model::FoundText {
                locator: json!({"ocr": self.entry.name}),
                text: joined,
            }],
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_min_area_rect_of_a_tilted_rectangle_is_that_rectangle() {
        // A 20 x 6 rectangle turned by atan(3/4), sampled on its outline and inside.
        let (ux, uy) = (0.8f32, 0.6f32);
        let mut pts = Vec::new();
        for i in 0..=20 {
            for j in 0..=6 {
                let (u, v) = (i as f32, j as f32);
                pts.push([10.0 + u * ux - v * uy, 5.0 + u * uy + v * ux]);
            }
        }
        let r = min_area_rect(&pts).unwrap();
        assert!((r.area() - 120.0).abs() < 1e-2, "{r:?}");
        assert!((r.short_side() - 6.0).abs() < 1e-3);
        assert!((r.grown(1.0).area() - 22.0 * 8.0).abs() < 1e-2);
    }

    #[test]
    fn a_bright_bar_in_the_map_becomes_one_box_grown_by_the_unclip_distance() {
        let (w, h) = (64, 32);
        let mut map = vec![0.0f32; w * h];
        for y in 10..16 {
            for x in 8..48 {
                map[y * w + x] = 0.9;
            }
        }
        let found = boxes(&map, w, h, 128, 64);
        assert_eq!(found.len(), 1);
        let (c, score) = found[0];
        // The dilated box holds 41 x 7 pixels, 40 x 6 of them at 0.9.
        assert!((score - 0.9 * 240.0 / 287.0).abs() < 1e-5, "{score}");
        // Component 8..=48 x 10..=16 after dilation: 40 x 6 px; d = 240 * 1.6 / 92 = 4.17.
        // Corners in the picture (x2): x from (8 - 4.17) * 2 to (48 + 4.17) * 2.
        assert_eq!(c[0], [8.0, 12.0]);
        assert_eq!(c[2], [104.0, 40.0]);
    }

    #[test]
    fn det_sizes_follow_rapidocr() {
        assert_eq!(Ocr::det_size(640, 480), (992, 736));
        assert_eq!(Ocr::det_size(4000, 3000), (1984, 1504));
        assert_eq!(Ocr::det_size(100, 100), (736, 736));
        assert_eq!(Ocr::det_size(20_000, 20), (4000, 32));
    }

    #[test]
    fn tall_crops_turn_upright() {
        let img = image::RgbImage::from_fn(10, 40, |_, y| image::Rgb([(y * 6) as u8, 0, 0]));
        let c = crop(&img, &[[0.0, 0.0], [9.0, 0.0], [9.0, 39.0], [0.0, 39.0]]);
        assert_eq!((c.width(), c.height()), (39, 9));
    }
}
