//! Lists of interest an investigator brings to a scan: a watch list of entities (IBANs,
//! wallets, phone numbers, e-mail addresses), places of interest (name, position, radius)
//! and object classes of interest. Each list turns the observations that match it into
//! observations of their own (`watchlist.match`, `location.place_of_interest`,
//! `image.object_of_interest`), with the list's digest in the provenance, so that a rule
//! fires on "on the list" and the explanation says which list.
//!
//! A case pass after the scan (like keywords): pure over the stored observations; the engine
//! stores what it returns, replacing the matches of that list written before.

use std::path::Path;

use serde_json::{Value, json};

use crate::analyze::ObservationDraft;
use crate::model::{ItemId, ObservationKind, PassCard, PassOutput, StoredGps};

use crate::store::audit::digest_hex as sha256_hex;

/// A watch list of entities: one per line, `VALUE` or `VALUE<TAB>NOTE`; `#` starts a
/// comment. Each value is normalised by the entity extractor itself (an IBAN loses its
/// spaces, a phone number becomes E.164 with `--region`, an address is lower-cased), so it
/// meets the `text.entity` observations however either was written.
#[derive(Clone, Debug)]
pub struct Watchlist {
    pub file: String,
    pub sha256: String,
    /// (entity kind, normalised value, note)
    pub entries: Vec<(String, String, Option<String>)>,
}

/// The entity kinds a watch list may name.
pub const WATCHABLE: &[&str] = &[
    "iban", "bitcoin", "ethereum", "phone", "email", "card", "bic",
];

impl Watchlist {
    /// The network identifiers (`tel:+31…`, `email:…`) of the list's phone numbers and
    /// addresses: matched against the parties of calls and messages.
    pub fn identifiers(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|(kind, value, _)| match kind.as_str() {
                "phone" => Some(format!("tel:{value}")),
                "email" => Some(format!("email:{value}")),
                _ => None,
            })
            .collect()
    }

    pub fn load(path: &Path, region: Option<&str>) -> Result<Watchlist, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("--watchlist {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (value, note) = match line.split_once('\t') {
                Some((v, note)) => (v.trim(), Some(note.trim().to_string())),
                None => (line, None),
            };
            let found = crate::text::entities::extract(value, region);
            // The whole value must be one entity: "NL91 ABNA 0417 1643 00 (Bram)" on one
            // field would otherwise put a stray match on the list.
            let whole = found
                .iter()
                .find(|e| WATCHABLE.contains(&e.kind) && e.start == 0 && e.end == value.len());
            let Some(entity) = whole else {
                return Err(format!(
                    "--watchlist {}: line {}: {value:?} is not an IBAN, wallet address, phone \
                     number (E.164, or national with --region), e-mail address, card or BIC that \
                     passes its check",
                    path.display(),
                    n + 1
                ));
            };
            entries.push((
                entity.kind.to_string(),
                entity.value.clone(),
                note.filter(|s| !s.is_empty()),
            ));
        }
        if entries.is_empty() {
            return Err(format!("--watchlist {}: no entries", path.display()));
        }
        Ok(Watchlist {
            file: path.display().to_string(),
            sha256: sha256_hex(&bytes),
            entries,
        })
    }
}

/// One place of interest.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceOfInterest {
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
}

/// Places of interest: a CSV file with the header `name,latitude,longitude,radius_m`
/// (decimal degrees, WGS 84; the radius in metres, at most 100 km).
#[derive(Clone, Debug)]
pub struct PlacesOfInterest {
    pub file: String,
    pub sha256: String,
    pub places: Vec<PlaceOfInterest>,
}

impl PlacesOfInterest {
    pub fn load(path: &Path) -> Result<PlacesOfInterest, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("--places-of-interest {}: {e}", path.display()))?;
        let bad = |line: usize, why: String| {
            format!(
                "--places-of-interest {}: line {line}: {why}",
                path.display()
            )
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad(1, e.to_string()))?
            .iter()
            .map(str::to_lowercase)
            .collect();
        if header != ["name", "latitude", "longitude", "radius_m"] {
            return Err(bad(
                1,
                format!("the header must be name,latitude,longitude,radius_m, not {header:?}"),
            ));
        }
        let mut places = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(0, e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            let number = |i: usize, what: &str| -> Result<f64, String> {
                record
                    .get(i)
                    .unwrap_or("")
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        bad(
                            line,
                            format!("{what} {:?} is not a number", record.get(i).unwrap_or("")),
                        )
                    })
            };
            let name = record.get(0).unwrap_or("").to_string();
            let (latitude, longitude, radius_m) = (
                number(1, "latitude")?,
                number(2, "longitude")?,
                number(3, "radius_m")?,
            );
            if name.is_empty() {
                return Err(bad(line, "empty name".into()));
            }
            if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
                return Err(bad(
                    line,
                    format!("{latitude}, {longitude} is not a position"),
                ));
            }
            if !(radius_m > 0.0 && radius_m <= 100_000.0) {
                return Err(bad(
                    line,
                    format!("radius {radius_m} m must be above 0 and at most 100 km"),
                ));
            }
            places.push(PlaceOfInterest {
                name,
                latitude,
                longitude,
                radius_m,
            });
        }
        if places.is_empty() {
            return Err(format!(
                "--places-of-interest {}: no places",
                path.display()
            ));
        }
        Ok(PlacesOfInterest {
            file: path.display().to_string(),
            sha256: sha256_hex(&bytes),
            places,
        })
    }
}

/// Object classes of interest (`--objects-of-interest knife,scissors`), checked against the
/// classes of the detectors in the scan.
#[derive(Clone, Debug)]
pub struct ObjectsOfInterest {
    pub labels: Vec<String>,
    pub digest: String,
}

impl ObjectsOfInterest {
    pub fn new(labels: &[String], known: &[String]) -> Result<ObjectsOfInterest, String> {
        let mut wanted: Vec<String> = labels
            .iter()
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Err("--objects-of-interest names no class".into());
        }
        if known.is_empty() {
            return Err(
                "--objects-of-interest needs an object detector in --models (nanodet)".into(),
            );
        }
        for l in &wanted {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(l)) {
                return Err(format!(
                    "--objects-of-interest: no detector in --models has the class {l:?}"
                ));
            }
        }
        let digest = sha256_hex(wanted.join("\n").as_bytes());
        Ok(ObjectsOfInterest {
            labels: wanted,
            digest,
        })
    }
}

/// The lists a scan was given.
#[derive(Clone, Debug, Default)]
pub struct InterestLists {
    pub watchlist: Option<Watchlist>,
    pub places: Option<PlacesOfInterest>,
    pub objects: Option<ObjectsOfInterest>,
}

/// What the interest pass reads: the case's `text.entity`, `image.gps` and `image.object`
/// observations.
pub struct InterestInputs {
    pub entities: Vec<(ItemId, Value, f64)>,
    /// Records whose participants include a watch-listed number or address: (item, the
    /// record's locator, the participant's identifier, its role).
    pub parties: Vec<(ItemId, Value, String, String)>,
    pub gps: Vec<StoredGps>,
    pub objects: Vec<(ItemId, Value, f64)>,
}

/// Great-circle distance in metres (haversine on the mean Earth radius).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().min(1.0).asin()
}

/// One pass output per list given, each replacing that list's kind.
pub fn matches(lists: &InterestLists, inputs: &InterestInputs) -> Vec<PassOutput> {
    let mut out = Vec::new();
    if let Some(list) = &lists.watchlist {
        let mut observations = Vec::new();
        // A listed number or address as the party of a call or message: one observation per
        // export and identifier, each record an occurrence.
        let mut parties: std::collections::BTreeMap<(ItemId, &str), Vec<Value>> =
            Default::default();
        for (item, locator, identifier, role) in &inputs.parties {
            parties
                .entry((*item, identifier.as_str()))
                .or_default()
                .push(json!({"in": locator, "role": role}));
        }
        for ((item, identifier), occurrences) in parties {
            let Some((kind, value)) = identifier.split_once(':') else {
                continue;
            };
            let kind = if kind == "tel" { "phone" } else { kind };
            let note = list
                .entries
                .iter()
                .find(|(k, v, _)| k == kind && v == value)
                .and_then(|(_, _, n)| n.clone());
            let count = occurrences.len();
            observations.push((item, ObservationDraft {
                kind: ObservationKind::WatchlistMatch,
                value: json!({
                    "entity": kind, "value": value, "note": note, "count": count, "found_as": "party",
                    "occurrences": occurrences.into_iter().take(20).collect::<Vec<_>>(), "list": list.file, "list_sha256": list.sha256,
                }),
                confidence: 1.0,
                provenance: json!({"list": list.file, "list_sha256": list.sha256}),
            }));
        }
        for (item, value, confidence) in &inputs.entities {
            let (Some(kind), Some(v)) = (
                value.get("entity").and_then(Value::as_str),
                value.get("value").and_then(Value::as_str),
            ) else {
                continue;
            };
            for (k, listed, note) in &list.entries {
                if k == kind && listed == v {
                    observations.push((*item, ObservationDraft {
                        kind: ObservationKind::WatchlistMatch,
                        value: json!({
                            "entity": kind, "value": v, "note": note, "count": value.get("count"), "found_as": "text",
                            "occurrences": value.get("occurrences"), "list": list.file, "list_sha256": list.sha256,
                        }),
                        confidence: *confidence,
                        provenance: json!({"list": list.file, "list_sha256": list.sha256}),
                    }));
                }
            }
        }
        out.push(PassOutput {
            card: PassCard {
                name: "watchlist",
                version: "1",
                error_margin: "exact matches of normalised entities (IBAN mod-97, wallet checksums, E.164 phone numbers, \
                     lower-cased addresses) found in message bodies, documents and OCR text, and of listed numbers and \
                     addresses as the parties of calls and messages; an entity written in a way the extractor does not \
                     read (split over lines, misspelt, in a picture without OCR) is not found",
            },
            replaces: &[ObservationKind::WatchlistMatch],
            observations,
        });
    }
    if let Some(list) = &lists.places {
        let mut observations = Vec::new();
        for g in &inputs.gps {
            // The nearest place of interest whose radius holds the position.
            let best = list
                .places
                .iter()
                .map(|p| {
                    (
                        p,
                        distance_m(g.latitude, g.longitude, p.latitude, p.longitude),
                    )
                })
                .filter(|(p, d)| *d <= p.radius_m)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((place, d)) = best {
                observations.push((g.item, ObservationDraft {
                    kind: ObservationKind::LocationPlaceOfInterest,
                    value: json!({
                        "place": place.name, "distance_m": (d * 10.0).round() / 10.0, "radius_m": place.radius_m,
                        "latitude": g.latitude, "longitude": g.longitude, "list": list.file, "list_sha256": list.sha256,
                    }),
                    confidence: 1.0,
                    provenance: json!({"list": list.file, "list_sha256": list.sha256}),
                }));
            }
        }
        out.push(PassOutput {
            card: PassCard {
                name: "places-of-interest",
                version: "1",
                error_margin: "great-circle distance from the picture's GPS position to each place; the position is what \
                     the device wrote (phone GPS is typically within 5-50 m outdoors, worse indoors; a position can be \
                     edited), so a picture near a place's edge may have been taken outside it",
            },
            replaces: &[ObservationKind::LocationPlaceOfInterest],
            observations,
        });
    }
    if let Some(list) = &lists.objects {
        let mut observations = Vec::new();
        for (item, value, confidence) in &inputs.objects {
            let Some(label) = value.get("label").and_then(Value::as_str) else {
                continue;
            };
            if list.labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                observations.push((*item, ObservationDraft {
                    kind: ObservationKind::ImageObjectOfInterest,
                    value: json!({
                        "model": value.get("model"), "label": label, "count": value.get("count"),
                        "score": value.get("score"), "list": list.labels.join(","), "list_sha256": list.digest,
                    }),
                    confidence: *confidence,
                    provenance: json!({"from": "image.object", "list": list.labels.join(","), "list_sha256": list.digest}),
                }));
            }
        }
        out.push(PassOutput {
            card: PassCard {
                name: "objects-of-interest",
                version: "1",
                error_margin: "a detector's objects whose class is on the list: the detector's own error margin \
                     (its card) is the margin of this observation",
            },
            replaces: &[ObservationKind::ImageObjectOfInterest],
            observations,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_matches_the_sphere() {
        // One degree along the equator and a quarter meridian, on the mean radius: 2πR/360
        // and πR/2.
        let r = 6_371_008.8_f64;
        let degree = distance_m(0.0, 10.0, 0.0, 11.0);
        assert!(
            (degree - 2.0 * std::f64::consts::PI * r / 360.0).abs() < 1e-6,
            "{degree}"
        );
        let quarter = distance_m(0.0, 4.0, 90.0, 4.0);
        assert!(
            (quarter - std::f64::consts::PI * r / 2.0).abs() < 1e-3,
            "{quarter}"
        );
    }

    #[test]
    fn a_watchlist_is_normalised_and_refuses_what_is_not_an_entity() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.txt");
        std::fs::write(
            &p,
            "# case 7\nNL91 ABNA 0417 1643 00\tBram's account\n06 1234 5678\nIvo@Coldstore.example\n",
        )
        .unwrap();
        let w = Watchlist::load(&p, Some("NL")).unwrap();
        assert_eq!(
            w.entries,
            vec![
                (
                    "iban".into(),
                    "NL91ABNA0417164300".into(),
                    Some("Bram's account".into())
                ),
                ("phone".into(), "+31612345678".into(), None),
                ("email".into(), "ivo@coldstore.example".into(), None),
            ]
        );
        std::fs::write(&p, "NL91 ABNA 0417 1643 01\n").unwrap();
        let e = Watchlist::load(&p, None).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn places_of_interest_are_checked_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(
            &p,
            "name,latitude,longitude,radius_m\nPier 4,51.9,4.4,250\nbad,91,4,10\n",
        )
        .unwrap();
        let e = PlacesOfInterest::load(&p).unwrap_err();
        assert!(e.contains("line 3") && e.contains("not a position"), "{e}");
        std::fs::write(&p, "name,latitude,longitude,radius_m\nPier 4,51.9,4.4,0\n").unwrap();
        assert!(PlacesOfInterest::load(&p).unwrap_err().contains("radius"));
        std::fs::write(&p, "place,lat,lon\n").unwrap();
        assert!(PlacesOfInterest::load(&p).unwrap_err().contains("header"));
    }

    #[test]
    fn matches_pick_the_nearest_place_within_its_radius() {
        let lists = InterestLists {
            places: Some(PlacesOfInterest {
                file: "p.csv".into(),
                sha256: "x".into(),
                places: vec![
                    PlaceOfInterest {
                        name: "far".into(),
                        latitude: 52.1,
                        longitude: 4.0,
                        radius_m: 50_000.0,
                    },
                    PlaceOfInterest {
                        name: "near".into(),
                        latitude: 52.0001,
                        longitude: 4.0,
                        radius_m: 100.0,
                    },
                ],
            }),
            ..Default::default()
        };
        let inputs = InterestInputs {
            entities: vec![],
            parties: vec![],
            gps: vec![
                StoredGps {
                    item: ItemId(1),
                    latitude: 52.0,
                    longitude: 4.0,
                },
                StoredGps {
                    item: ItemId(2),
                    latitude: 53.0,
                    longitude: 4.0,
                },
            ],
            objects: vec![],
        };
        let out = matches(&lists, &inputs);
        assert_eq!(out.len(), 1);
        let obs = &out[0].observations;
        assert_eq!(obs.len(), 1, "the position 111 km away is in no radius");
        assert_eq!(obs[0].0, ItemId(1));
        assert_eq!(obs[0].1.value["place"], "near");
        assert_eq!(obs[0].1.value["distance_m"], 11.1);
    }
}
