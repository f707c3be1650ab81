//! An observation's value in words, for explanations and reports: what a reader needs to
//! judge it, not its JSON. Every kind of the catalogue has a sentence; a kind this file does
//! not know (added later) falls back to its plain fields, never to a JSON blob.

use serde_json::Value;

use crate::model::StoredObservation;

/// A number as people read it: four decimals at most, no trailing zeros (0.6410 → 0.641).
pub fn number(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// A value as a short phrase: strings as they are, numbers readable, lists joined.
pub fn plain(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number),
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k} {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The observation in words.
pub fn describe(obs: &StoredObservation) -> String {
    let v = &obs.value;
    let f = |name: &str| v.get(name).map_or_else(|| "none".to_string(), plain);
    let occurrences = || {
        let first = v
            .get("occurrences")
            .and_then(Value::as_array)
            .and_then(|o| o.first())
            .and_then(|o| o.get("context"))
            .and_then(Value::as_str)
            .map(|c| format!(", e.g. \"…{}…\"", c.trim()))
            .unwrap_or_default();
        format!("{} time(s){first}", f("count"))
    };
    match obs.kind.as_str() {
        "hashset.match" => format!(
            "its {} is listed in the {} hash set {} (category {}){}",
            f("algorithm"),
            f("status"),
            f("set"),
            f("category"),
            if v.get("size_agrees") == Some(&Value::Bool(false)) {
                "; the listed size differs"
            } else {
                ""
            }
        ),
        "image.pdq_match" => format!(
            "its PDQ hash is {} bits of 256 from an entry of the {} list {} (category {}; as {})",
            f("distance"),
            f("status"),
            f("list"),
            f("category"),
            f("transform")
        ),
        "type.extension_mismatch" => format!(
            "named .{} but the content is {} (.{})",
            f("extension"),
            f("detected_mime"),
            f("detected_extension")
        ),
        "image.classification" => format!(
            "{} scores {} at {} ({} its threshold)",
            f("model"),
            f("label"),
            f("score"),
            if v.get("above_threshold") == Some(&Value::Bool(true)) {
                "above"
            } else {
                "below"
            }
        ),
        "image.object" | "image.object_of_interest" => format!(
            "{} finds {} × {} (best score {})",
            f("model"),
            f("count"),
            f("label"),
            f("score")
        ),
        "image.faces" => format!(
            "{} finds {} face(s) (best score {})",
            f("model"),
            f("count"),
            f("best_score")
        ),
        "image.gps" => format!("taken at {}, {}", f("latitude"), f("longitude")),
        "location.place_of_interest" => format!(
            "taken {} m from the place of interest \"{}\" (radius {} m) at {}, {}",
            f("distance_m"),
            f("place"),
            f("radius_m"),
            f("latitude"),
            f("longitude")
        ),
        "location.possible_place" => format!(
            "looks like the reference pictures of \"{}\" (similarity {}, rank {})",
            f("place"),
            f("similarity"),
            f("rank")
        ),
        "location.place" => format!("one of {} pictures of a place near {}", f("members"), {
            v.get("nearest")
                .and_then(|x| x.get("name"))
                .map_or("an unnamed place".into(), plain)
        }),
        "image.similar" => format!(
            "a picture with embedding similarity {} is {}",
            f("best_similarity"),
            if v.get("other_device") == Some(&Value::Bool(true)) {
                "on another device"
            } else {
                "on the same device"
            }
        ),
        "image.near_duplicate" => format!(
            "one of {} near-duplicate pictures (nearest {} bits of 256 away)",
            f("size"),
            f("nearest_distance")
        ),
        "text.keyword_hit" => format!(
            "the watch-list term \"{}\" (category {}) occurs {}",
            f("term"),
            f("category"),
            occurrences()
        ),
        "watchlist.match" => format!(
            "the {} {} on the watch list{} occurs {}{}",
            f("entity"),
            f("value"),
            v.get("note")
                .and_then(Value::as_str)
                .map(|n| format!(" (\"{n}\")"))
                .unwrap_or_default(),
            occurrences(),
            if v.get("found_as").and_then(Value::as_str) == Some("party") {
                " as a party of calls or messages"
            } else {
                ""
            }
        ),
        "text.entity" => format!(
            "the {} {} ({}) occurs {}",
            f("entity"),
            f("value"),
            f("check"),
            occurrences()
        ),
        "image.text" => format!("text read in the picture: \"{}\"", f("text")),
        "network.metrics" => format!(
            "betweenness {} (rank {} of {}), degree {}, {}-core of at most {}, community of {}, participation {}",
            f("betweenness"),
            f("betweenness_rank"),
            f("identities"),
            f("degree"),
            f("core"),
            f("max_core"),
            f("community_size"),
            f("participation")
        ),
        "network.activity" => format!(
            "{} contacts from {} to {} on {} day(s)",
            f("contacts"),
            f("first"),
            f("last"),
            f("active_days")
        ),
        "network.cross_device" => format!(
            "one identity on {} devices ({}) from the identifiers {}",
            f("device_count"),
            f("devices"),
            f("identifiers")
        ),
        "network.burner" => format!(
            "in use {} of the case's {} days ({} to {}), {} contacts with {} correspondent(s), reaching {}",
            f("active_days"),
            f("case_days"),
            f("first"),
            f("last"),
            f("contacts"),
            f("correspondents"),
            f("central_correspondents")
        ),
        _ => {
            // Unknown to this file: the scalar fields, in words.
            let Some(map) = v.as_object() else {
                return plain(v);
            };
            map.iter()
                .filter(|(_, x)| !x.is_object() && !x.is_array())
                .map(|(k, x)| format!("{} {}", k.replace('_', " "), plain(x)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
    .replace(" none)", " not given)")
    .chars()
    .take(400)
    .collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_catalogue_kind_reads_without_json() {
        for spec in crate::model::OBSERVATION_KINDS {
            let value: serde_json::Map<String, Value> = spec
                .fields
                .iter()
                .map(|f| (f.to_string(), json!({"nested": [1, 2]})))
                .collect();
            let obs = StoredObservation {
                kind: spec.name.into(),
                analyzer: "a".into(),
                analyzer_version: "1".into(),
                value: Value::Object(value),
                confidence: 1.0,
                provenance: Value::Null,
            };
            let words = describe(&obs);
            assert!(
                !words.contains("{\"") && !words.contains('['),
                "{}: {words}",
                spec.name
            );
        }
        let o = StoredObservation {
            kind: "image.classification".into(),
            analyzer: "open_nsfw".into(),
            analyzer_version: "1".into(),
            value: json!({"model": "open_nsfw", "label": "nsfw", "score": 0.91234, "above_threshold": true}),
            confidence: 0.91,
            provenance: Value::Null,
        };
        assert_eq!(
            describe(&o),
            "open_nsfw scores nsfw at 0.9123 (above its threshold)"
        );
    }
}
