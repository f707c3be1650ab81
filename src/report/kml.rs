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
        let (Some(lat), Some(lon)) = (
            f["item"]["latitude"].as_f64(),
            f["item"]["longitude"].as_f64(),
        ) else {
            continue;
        };
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
        marks.push_str(&format!(
            "    <Placemark>\n      <name>{}</name>\n      <description>{}</description>\n      <ExtendedData>\n        <Data name=\"lead\"><value>{}</value></Data>\n        <Data name=\"source\"><value>{}</value></Data>\n        <Data name=\"path\"><value>{}</value></Data>\n        <Data name=\"sha256\"><value>{}</value></Data>\n        <Data name=\"rules\"><value>{}</value></Data>\n      </ExtendedData>\n      <Point><coordinates>{lon},{lat}</coordinates></Point>\n    </Placemark>\n",
            xml(&format!("{} {}", f["id"].as_str().unwrap_or(""), f["path"].as_str().unwrap_or(""))),
            xml(&format!("{}\n{}", why.join("\n"), decided.join("\n"))),
            xml(f["id"].as_str().unwrap_or("")),
            xml(f["source"].as_str().unwrap_or("")),
            xml(f["path"].as_str().unwrap_or("")),
            xml(f["item"]["sha256"].as_str().unwrap_or("")),
            xml(&rules.join(", ")),
        ));
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
