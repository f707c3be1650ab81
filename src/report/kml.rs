//! KML of the findings that have a GPS position (Google Earth, QGIS, i2): one placemark per
//! confirmed finding on a picture with a position. Only findings: a lead awaiting review is
//! not exported for action.

use serde_json::Value;

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .chars()
        // XML 1.0 forbids most control characters even escaped.
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// The KML document of `data["findings"]` with positions.
pub fn render(data: &Value) -> String {
    let mut marks = String::new();
    let mut count = 0;
    for f in data["findings"].as_array().into_iter().flatten() {
        // A picture's position, or those of the pictures a place (or a cluster) gathers.
        let mut positions: Vec<(f64, f64, String, String, String)> = Vec::new();
        if let (Some(lat), Some(lon)) = (
            f["item"]["latitude"].as_f64(),
            f["item"]["longitude"].as_f64(),
        ) {
            let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
            let sha = f["item"]["sha256"].as_str().unwrap_or("").to_string();
            positions.push((lat, lon, text("source"), text("path"), sha));
        }
        for m in f["hits"]["subject"]["members"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let (Some(lat), Some(lon)) = (m["latitude"].as_f64(), m["longitude"].as_f64()) {
                let text = |k: &str| m[k].as_str().unwrap_or("").to_string();
                positions.push((lat, lon, text("source"), text("path"), text("sha256")));
            }
        }
        if positions.is_empty() {
            continue;
        }
        count += 1;
        let rules: Vec<&str> = f["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let why: Vec<String> = f["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["explanation"].as_str().map(str::to_string))
            .collect();
        let decided: Vec<String> = f["reviews"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{} by {} at {}: {}",
                    r["decision"].as_str().unwrap_or(""),
                    r["reviewer"].as_str().unwrap_or(""),
                    r["at"].as_str().unwrap_or(""),
                    r["reason"].as_str().unwrap_or("")
                )
            })
            .collect();
        for (lat, lon, source, path, sha) in &positions {
            marks.push_str(&format!(
            "    <Placemark>\n      <name>{}</name>\n      <description>{}</description>\n      <ExtendedData>\n        <Data name=\"lead\"><value>{}</value></Data>\n        <Data name=\"source\"><value>{}</value></Data>\n        <Data name=\"path\"><value>{}</value></Data>\n        <Data name=\"sha256\"><value>{}</value></Data>\n        <Data name=\"rules\"><value>{}</value></Data>\n      </ExtendedData>\n      <Point><coordinates>{lon},{lat}</coordinates></Point>\n    </Placemark>\n",
            xml(&format!("{} {}", f["id"].as_str().unwrap_or(""), if positions.len() > 1 { format!("{} — {path}", f["path"].as_str().unwrap_or("")) } else { f["path"].as_str().unwrap_or("").to_string() })),
            xml(&format!("{}\n{}", why.join("\n"), decided.join("\n"))),
            xml(f["id"].as_str().unwrap_or("")),
            xml(source),
            xml(path),
            xml(sha),
            xml(&rules.join(", ")),
        ));
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n  <Document>\n    <name>spoor findings with GPS</name>\n    <description>{}</description>\n{marks}  </Document>\n</kml>\n",
        xml(&if count == 0 {
            "No confirmed finding has a GPS position: nothing to map. Leads awaiting review are never exported for action.".to_string()
        } else {
            format!(
                "{count} confirmed finding(s) with a GPS position; leads awaiting review are not included."
            )
        })
    )
}
