//! Lists of known images by PDQ hash (as exchanged through ThreatExchange and similar):
//! one 64-hex hash per line, optionally followed by a category (comma, tab or spaces), `#`
//! comments. Loaded like hash sets (known-good or known-bad, malformed lines reported with
//! their numbers); a near match is an observation with its distance, never an identity.

use std::path::Path;

use super::neardup::Index;
use super::pdq::PdqHash;
use crate::evidence::digest::{Sha256, sha256_bytes};
use crate::hashsets::{HashSetSpec, Problem};

pub struct PdqList {
    pub spec: HashSetSpec,
    pub name: String,
    pub file_sha256: Sha256,
    pub entries: Vec<(PdqHash, Option<String>)>,
    pub problems: Vec<Problem>,
    pub index: Index,
}

pub fn parse(text: &str) -> (Vec<(PdqHash, Option<String>)>, Vec<Problem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (hex, rest) = match line.find([',', '\t', ' ']) {
            Some(i) => (
                &line[..i],
                line[i + 1..].trim_matches(|c: char| c == ',' || c.is_whitespace()),
            ),
            None => (line, ""),
        };
        match PdqHash::from_hex(hex) {
            Some(h) => entries.push((h, (!rest.is_empty()).then(|| rest.to_string()))),
            None => problems.push(Problem {
                location: format!("line {}", n + 1),
                reason: format!(
                    "not a 64-hex PDQ hash: {:?}",
                    line.chars().take(80).collect::<String>()
                ),
            }),
        }
    }
    (entries, problems)
}

/// Reads a list. A file with no valid hash at all is refused (fatal at plan time).
pub fn load(spec: &HashSetSpec) -> Result<PdqList, String> {
    let bytes =
        std::fs::read(&spec.path).map_err(|e| format!("PDQ list {}: {e}", spec.path.display()))?;
    let (entries, problems) = parse(&String::from_utf8_lossy(&bytes));
    if entries.is_empty() {
        return Err(format!(
            "PDQ list {}: no PDQ hash in it ({} malformed lines)",
            spec.path.display(),
            problems.len()
        ));
    }
    Ok(PdqList {
        name: file_name(&spec.path),
        file_sha256: sha256_bytes(&bytes),
        index: Index::new(entries.iter().map(|e| e.0).collect()),
        spec: spec.clone(),
        entries,
        problems,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Confidence of a match at `distance` bits: 1.0 when identical, falling linearly to 0.5 at
/// the 31-bit threshold (Meta's match threshold is where errors start, not a certainty).
pub fn match_confidence(distance: u32) -> f64 {
    1.0 - distance as f64 / 62.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_and_without_category_and_malformed_ones() {
        let text = "# list\nf8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,CAT-1\n\
                    30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af\tCAT-2\nnot-a-hash\n\
                    0000000000000000000000000000000000000000000000000000000000000000\n";
        let (entries, problems) = parse(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].1.as_deref(), Some("CAT-1"));
        assert_eq!(entries[1].1.as_deref(), Some("CAT-2"));
        assert_eq!(entries[2].1, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location, "line 4");
        assert_eq!(match_confidence(0), 1.0);
        assert_eq!(match_confidence(31), 0.5);
    }
}
