//! Image embeddings (nsfwjs's 1792-d `embedding` output): stored per picture, then compared
//! across the whole case (pictures of the same room or scene on different devices) and with a
//! reference gallery of known places the investigator supplies (`--places DIR`).
//!
//! Search is exact: every pair's cosine similarity, as a blocked matrix product. Its cost is
//! n^2 x 1792 multiply-adds: 6.0 s for 10,000 pictures on the 2 cores here
//! (`cargo run --release --example embedding_rate -- 10000`), so about 10 minutes for 100,000,
//! the most this exact search is meant for. Beyond that the quadratic term rules and the next
//! step is an approximate index (IVF or HNSW over the same stored vectors), with its recall
//! measured against this exact search.

use base64::Engine as _;
use rayon::prelude::*;
use serde_json::json;

use crate::analyze::ObservationDraft;

pub const KIND: crate::model::ObservationKind = crate::model::ObservationKind::ImageEmbedding;
/// Default least cosine similarity: below the 0.84-0.89 of a photo's re-encoded, cropped or
/// mirrored copies, above the 0.38-0.53 of unrelated photos (docs/models.md).
pub const DEFAULT_THRESHOLD: f32 = 0.75;
/// Neighbours kept per picture.
pub const NEIGHBOURS: usize = 5;

/// The observation holding a picture's embedding: L2-normalised, little-endian f32, base64.
pub fn observation(model: &str, vector: &[f32], provenance: serde_json::Value) -> ObservationDraft {
    let unit = normalised(vector);
    let bytes: Vec<u8> = unit.iter().flat_map(|v| v.to_le_bytes()).collect();
    ObservationDraft {
        kind: KIND,
        value: json!({
            "model": model, "dim": unit.len(), "encoding": "f32le-base64, L2-normalised",
            "vector": base64::engine::general_purpose::STANDARD.encode(bytes),
        }),
        confidence: 1.0,
        provenance,
    }
}

pub fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

/// The vector of a stored embedding observation's value.
pub fn decode(value: &serde_json::Value) -> Option<Vec<f32>> {
    let text = value.get("vector")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// Dot product with eight accumulators, which the compiler turns into vector instructions.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Rows of the similarity matrix computed at once: 256 x 100,000 f32 is 100 MB per worker.
const BLOCK_ROWS: usize = 256;

/// For each vector, its `k` most similar others with similarity at least `min`, best first
/// (exact; vectors L2-normalised, so the dot product is the cosine).
///
/// The similarities are a matrix product computed a block of rows at a time with
/// `matrixmultiply`'s sgemm (through ndarray; it picks AVX2/FMA at run time): 10,000 vectors
/// took 49 s as one dot product per pair, which re-reads every vector from memory for every
/// row; blocked, each vector is read once per block of rows.
pub fn neighbours(vectors: &[Vec<f32>], k: usize, min: f32) -> Vec<Vec<(usize, f32)>> {
    let n = vectors.len();
    let Some(d) = vectors.first().map(Vec::len) else {
        return Vec::new();
    };
    if vectors.iter().any(|v| v.len() != d) {
        // Embeddings of different sizes come from different models: nothing to compare.
        return vec![Vec::new(); n];
    }
    let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
    let all = ndarray::ArrayView2::from_shape((n, d), &flat).expect("n x d");
    let starts: Vec<usize> = (0..n).step_by(BLOCK_ROWS).collect();
    starts
        .into_par_iter()
        .flat_map_iter(|start| {
            let rows = BLOCK_ROWS.min(n - start);
            let block = all.slice(ndarray::s![start..start + rows, ..]);
            let sims = block.dot(&all.t());
            (0..rows)
                .map(|r| {
                    let i = start + r;
                    let mut best: Vec<(usize, f32)> = sims
                        .row(r)
                        .iter()
                        .enumerate()
                        .filter(|&(j, &s)| j != i && s >= min)
                        .map(|(j, &s)| (j, s))
                        .collect();
                    let by_similarity = |a: &(usize, f32), b: &(usize, f32)| {
                        b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                    };
                    if best.len() > k {
                        best.select_nth_unstable_by(k, by_similarity);
                        best.truncate(k);
                    }
                    best.sort_by(by_similarity);
                    best
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A reference gallery: one subfolder per known place, its pictures' embeddings.
pub struct Gallery {
    pub dir: std::path::PathBuf,
    /// (place, picture file name, unit embedding).
    pub pictures: Vec<(String, String, Vec<f32>)>,
    /// Files that could not be used, with the reason.
    pub skipped: Vec<String>,
}

impl Gallery {
    /// Reads `dir/PLACE/*` and embeds every picture with `embed`. A gallery with no usable
    /// picture is an error: the investigator asked for something that cannot be done.
    pub fn load(
        dir: &std::path::Path,
        embed: &dyn Fn(&image::RgbImage) -> Result<Vec<f32>, String>,
    ) -> Result<Gallery, String> {
        let read = |p: &std::path::Path| {
            std::fs::read_dir(p).map_err(|e| format!("--places {}: {e}", p.display()))
        };
        let mut places: Vec<std::path::PathBuf> = read(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        places.sort();
        let mut pictures = Vec::new();
        let mut skipped = Vec::new();
        for place in places {
            let name = place
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let mut files: Vec<std::path::PathBuf> = read(&place)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                let file = f
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                match crate::media::decode_file(&f).and_then(|img| embed(&img.to_rgb8())) {
                    Ok(v) => pictures.push((name.clone(), file, normalised(&v))),
                    Err(e) => skipped.push(format!("{name}/{file}: {e}")),
                }
            }
        }
        if pictures.is_empty() {
            return Err(format!(
                "--places {}: no picture could be read in any subfolder (one subfolder per place){}",
                dir.display(),
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(": {}", skipped.join("; "))
                }
            ));
        }
        Ok(Gallery {
            dir: dir.to_path_buf(),
            pictures,
            skipped,
        })
    }

    /// Per place, the best similarity of `v` to its pictures, best place first.
    pub fn rank(&self, v: &[f32]) -> Vec<(String, String, f32)> {
        let mut best: Vec<(String, String, f32)> = Vec::new();
        for (place, file, g) in &self.pictures {
            let s = dot(v, g);
            match best.iter_mut().find(|b| &b.0 == place) {
                Some(b) if b.2 < s => *b = (place.clone(), file.clone(), s),
                Some(_) => {}
                None => best.push((place.clone(), file.clone(), s)),
            }
        }
        best.sort_by(|a, b| b.2.total_cmp(&a.2));
        best
    }
}

/// Settings of the similarity pass after a scan.
pub struct Similarity {
    /// The model whose embeddings are compared.
    pub model: String,
    /// Least cosine similarity for "similar picture" (same-place) observations.
    pub threshold: f32,
    /// At most this many neighbours per picture.
    pub k: usize,
    pub gallery: Option<(Gallery, f32)>,
}

const SIMILAR_MARGIN: &str = "cosine similarity of nsfwjs MobileNetV2 embeddings, a network trained for nudity classes, \
    not for places: re-encoded, cropped, mirrored or grey copies of a photo score 0.84-0.89 and unrelated photos \
    0.38-0.53 (docs/models.md); pictures of one room from other angles fall in between and are NOT measured here, so \
    a match says 'look at these together', never 'same place'";

/// The case's `image.similar` and `location.possible_place` observations, recomputed from its
/// stored embeddings (`rows` as [`crate::store::embedding_observations`] reads them). Pure:
/// the engine stores what it returns, replacing what the pass wrote before.
pub fn similarity_pass(
    rows: &[crate::model::StoredEmbedding],
    plan: &Similarity,
) -> Result<crate::model::PassOutput, String> {
    let mut items = Vec::new();
    let mut vectors = Vec::new();
    for row in rows {
        // A stored vector that does not decode is a damaged case store, not a picture to
        // leave out of every comparison without a word.
        let v = decode(&row.value).ok_or_else(|| {
            format!(
                "item {}: its stored {KIND} does not decode: the case store is damaged",
                row.item.0
            )
        })?;
        items.push(row);
        vectors.push(v);
    }
    let mut observations = Vec::new();
    let near = neighbours(&vectors, plan.k, plan.threshold);
    for (i, list) in near.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let value = json!({
            "model": plan.model, "threshold": plan.threshold,
            "best_similarity": list[0].1,
            "other_device": list.iter().any(|(j, _)| items[*j].source != items[i].source),
            // The best may be on the same device; a rule about other devices reads this.
            "best_other_device_similarity": list.iter().find(|(j, _)| items[*j].source != items[i].source).map(|(_, s)| *s),
            "neighbours": list.iter().enumerate().map(|(rank, (j, s))| json!({
                "rank": rank + 1, "similarity": s, "source": items[*j].source, "path": items[*j].path,
            })).collect::<Vec<_>>(),
        });
        observations.push((
            items[i].item,
            ObservationDraft {
                kind: crate::model::ObservationKind::ImageSimilar,
                value,
                confidence: list[0].1 as f64,
                provenance: json!({"method": "exact cosine over all pairs", "k": plan.k}),
            },
        ));
    }
    if let Some((gallery, min)) = &plan.gallery {
        for (i, v) in vectors.iter().enumerate() {
            for (rank, (place, file, s)) in gallery.rank(v).into_iter().enumerate() {
                if s < *min {
                    break;
                }
                observations.push((
                    items[i].item,
                    ObservationDraft {
                        kind: crate::model::ObservationKind::LocationPossiblePlace,
                        value: json!({
                            "place": place, "similarity": s, "rank": rank + 1, "gallery_picture": file,
                            "model": plan.model, "threshold": min,
                            "meaning": "possibly taken at this place: visually close to the investigator's reference picture",
                        }),
                        confidence: s as f64,
                        provenance: json!({"gallery": gallery.dir.display().to_string(), "gallery_pictures": gallery.pictures.len()}),
                    },
                ));
            }
        }
    }
    Ok(crate::model::PassOutput {
        card: crate::model::PassCard {
            name: "similarity",
            version: "1",
            error_margin: SIMILAR_MARGIN,
        },
        replaces: &[
            crate::model::ObservationKind::ImageSimilar,
            crate::model::ObservationKind::LocationPossiblePlace,
        ],
        observations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_vector_decodes_to_the_normalised_embedding() {
        let o = observation("m", &[3.0, 4.0], json!({}));
        let v = decode(&o.value).unwrap();
        assert_eq!(v, vec![0.6, 0.8]);
    }

    #[test]
    fn neighbours_are_exact_and_ranked() {
        let vs: Vec<Vec<f32>> = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
            .iter()
            .map(|v| v.to_vec())
            .collect();
        let n = neighbours(&vs, 2, 0.5);
        assert_eq!(n[0], vec![(1, 0.8), (3, 0.6)]);
        assert_eq!(n[2], vec![(3, 0.8), (1, 0.6)]);
        let long: Vec<f32> = (0..1792).map(|i| (i % 7) as f32).collect();
        let plain: f32 = long.iter().map(|x| x * x).sum();
        assert!((dot(&long, &long) - plain).abs() < 1e-2);
    }
}
