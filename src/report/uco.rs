//! The findings as CASE/UCO JSON-LD (CASE 1.x, https://caseontology.org), the exchange format
//! of forensic tools: the tool, the examiners and reviewers, the evidence sources with their
//! provenance records, each scan as an investigative action, each confirmed finding as an
//! annotation on its file (name, path, size, SHA-256, GPS position) or identity, and each
//! decision as an action by its reviewer. Only findings: leads awaiting review are not
//! exported for action. Validated in the tests with `case_validate` from PyPI `case-utils`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A stable UUID (version 5 layout) from the case's seed and a name: the same case exports
/// the same IRIs.
fn uuid(seed: &str, name: &str) -> String {
    let d = crate::store::audit::digest_hex(format!("{seed}\0{name}").as_bytes());
    let mut b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&d[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "kb:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn time(t: &Value) -> Option<Value> {
    t.as_str()
        .map(|t| json!({"@type": "xsd:dateTime", "@value": t}))
}

pub fn render(data: &Value) -> Value {
    let seed = data["audit"]["head"]
        .as_str()
        .unwrap_or("empty case")
        .to_string();
    let id = |name: &str| uuid(&seed, name);
    let mut graph: Vec<Value> = Vec::new();
    let tool = id("tool");
    graph.push(json!({
        "@id": tool, "@type": "uco-tool:Tool", "uco-core:name": "spoor",
        "uco-tool:version": data["tool"]["version"],
    }));
    let mut people: BTreeMap<String, String> = BTreeMap::new();
    let mut person = |name: &str, graph: &mut Vec<Value>| -> String {
        people
            .entry(name.to_string())
            .or_insert_with(|| {
                let pid = id(&format!("person\0{name}"));
                graph.push(
                    json!({"@id": pid, "@type": "uco-identity:Person", "uco-core:name": name}),
                );
                pid
            })
            .clone()
    };
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for s in data["sources"].as_array().into_iter().flatten() {
        let label = s["label"].as_str().unwrap_or("");
        let dir = id(&format!("source\0{label}"));
        graph.push(json!({
            "@id": dir, "@type": "uco-observable:File",
            "uco-core:hasFacet": [{
                "@id": id(&format!("source-facet\0{label}")), "@type": "uco-observable:FileFacet",
                "uco-observable:filePath": s["root"], "uco-observable:isDirectory": true,
            }],
        }));
        graph.push(json!({
            "@id": id(&format!("provenance\0{label}")), "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": label,
            "uco-core:description": format!("evidence source {label}, examined by {}; root digest {}",
                s["examiner"].as_str().unwrap_or(""), s["root_digest"].as_str().unwrap_or("not computed")),
            "uco-core:object": [{"@id": dir}],
        }));
        sources.insert(label.to_string(), dir);
    }
    let mut results: Vec<Value> = Vec::new();
    for f in data["findings"].as_array().into_iter().flatten() {
        let lead = f["id"].as_str().unwrap_or("");
        let item = &f["item"];
        let mut objects: Vec<Value> = Vec::new();
        let subject = &f["hits"]["subject"];
        match f["subject"].as_str().unwrap_or("") {
            "item" => {
                let position = item["latitude"].as_f64().zip(item["longitude"].as_f64());
                let file = FileSeen {
                    key: lead.to_string(),
                    source: f["source"].as_str().unwrap_or(""),
                    path: f["path"].as_str().unwrap_or(""),
                    size: item["size"].as_i64(),
                    sha256: item["sha256"].as_str(),
                    position,
                };
                let (first, all) = push_file(&file, &mut graph, &id);
                results.push(first);
                objects.extend(all);
            }
            // A picture cluster, a place: the files it gathers, each with its hash (and
            // the position it was taken at).
            "picture-cluster" | "place" => {
                for (n, m) in subject["members"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let file = FileSeen {
                        key: format!("{lead}\0{n}"),
                        source: m["source"].as_str().unwrap_or(""),
                        path: m["path"].as_str().unwrap_or(""),
                        size: None,
                        sha256: m["sha256"].as_str(),
                        position: m["latitude"].as_f64().zip(m["longitude"].as_f64()),
                    };
                    let (first, all) = push_file(&file, &mut graph, &id);
                    results.push(first);
                    objects.extend(all);
                }
            }
            _ => {
                // An identity, or the two of a pair.
                let keys: Vec<Value> = match subject["identities"].as_array() {
                    Some(pair) => pair.clone(),
                    None => vec![subject["identity"].clone()],
                };
                let labels = subject["labels"].as_array().cloned().unwrap_or_default();
                for (n, key) in keys.iter().enumerate() {
                    let key = key.as_str().unwrap_or("");
                    let who = id(&format!("identity\0{key}"));
                    let label = labels
                        .get(n)
                        .and_then(Value::as_str)
                        .or(subject["label"].as_str().filter(|_| labels.is_empty()))
                        .unwrap_or(key);
                    graph.push(json!({
                        "@id": who, "@type": "uco-identity:Identity",
                        "uco-core:name": label,
                        "uco-core:description": format!("network identity {key}"),
                    }));
                    objects.push(json!({"@id": who}));
                }
            }
        }
        let statements: Vec<String> = f["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["explanation"].as_str().map(str::to_string))
            .collect();
        let annotation = id(&format!("annotation\0{lead}"));
        graph.push(json!({
            "@id": annotation, "@type": "uco-core:Annotation",
            "uco-core:object": objects,
            "uco-core:statement": statements.join(" | "),
            "uco-core:tag": f["rules"],
            "uco-core:description": format!("spoor lead {lead}: a finding, confirmed by a named reviewer (rules {})", data["rules_digest"].as_str().unwrap_or("")),
        }));
        for (n, r) in f["reviews"].as_array().into_iter().flatten().enumerate() {
            let reviewer = person(r["reviewer"].as_str().unwrap_or(""), &mut graph);
            let mut action = json!({
                "@id": id(&format!("review\0{lead}\0{n}")), "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": format!("review: {}", r["decision"].as_str().unwrap_or("")),
                "uco-core:description": r["reason"],
                "uco-action:performer": {"@id": reviewer},
                "uco-action:object": [{"@id": annotation}],
            });
            if let Some(t) = time(&r["at"]) {
                action["uco-action:endTime"] = t;
            }
            graph.push(action);
        }
    }
    for run in data["processing_record"]["runs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let examiner = person(run["examiner"].as_str().unwrap_or(""), &mut graph);
        let mut action = json!({
            "@id": id(&format!("run\0{}", run["run"])), "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "scan",
            "uco-core:description": format!("spoor scan run {} ({}); configuration digest {}, rules digest {}",
                run["run"], run["status"].as_str().unwrap_or(""), run["config_digest"].as_str().unwrap_or(""), run["rules_digest"].as_str().unwrap_or("")),
            "uco-action:instrument": {"@id": tool},
            "uco-action:performer": {"@id": examiner},
            "uco-action:object": sources.values().map(|s| json!({"@id": s})).collect::<Vec<_>>(),
            "uco-action:result": results,
        });
        if let Some(t) = time(&run["started"]) {
            action["uco-action:startTime"] = t;
        }
        if let Some(t) = time(&run["finished"]) {
            action["uco-action:endTime"] = t;
        }
        graph.push(action);
    }
    // A hash is a characterisation of its file, not an object of its own.
    let everything: Vec<Value> = graph
        .iter()
        .filter(|n| n["@type"] != "uco-types:Hash")
        .map(|n| json!({"@id": n["@id"]}))
        .collect();
    graph.push(json!({
        "@id": id("investigation"), "@type": "case-investigation:Investigation",
        "uco-core:name": "spoor case",
        "uco-core:description": if data["findings"].as_array().is_none_or(Vec::is_empty) {
            "no confirmed finding: nothing is exported for action"
        } else {
            "the confirmed findings of a spoor case; leads awaiting review are not exported"
        },
        "uco-core:object": everything,
    }));
    json!({
        "@context": {
            "kb": "urn:uuid:",
            "case-investigation": "https://ontology.caseontology.org/case/investigation/",
            "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
            "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
            "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
            "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
            "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
            "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": graph,
    })
}

/// A file a finding is about, as the CASE graph shows it.
struct FileSeen<'a> {
    /// What its node ids are made from: unique per file per finding.
    key: String,
    source: &'a str,
    path: &'a str,
    size: Option<i64>,
    sha256: Option<&'a str>,
    position: Option<(f64, f64)>,
}

/// Pushes the file (its facets, its hash) and, when it has a position, a Location; returns
/// the file's reference and the references of both.
fn push_file(
    f: &FileSeen,
    graph: &mut Vec<Value>,
    id: &dyn Fn(&str) -> String,
) -> (Value, Vec<Value>) {
    let key = &f.key;
    let file = id(&format!("file\0{key}"));
    let name = f.path.rsplit('/').next().unwrap_or(f.path);
    let mut facets = vec![json!({
        "@id": id(&format!("file-facet\0{key}")), "@type": "uco-observable:FileFacet",
        "uco-observable:fileName": name,
        "uco-observable:filePath": format!("{}:/{}", f.source, f.path),
        "uco-observable:sizeInBytes": f.size.map(|n| json!({"@type": "xsd:integer", "@value": n.to_string()})),
    })];
    if let Some(sha) = f.sha256 {
        let hash = id(&format!("hash\0{key}"));
        graph.push(json!({
            "@id": hash, "@type": "uco-types:Hash", "uco-types:hashMethod": "SHA256",
            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": sha.to_uppercase()},
        }));
        facets.push(json!({
            "@id": id(&format!("content-facet\0{key}")), "@type": "uco-observable:ContentDataFacet",
            "uco-observable:hash": [{"@id": hash}],
        }));
    }
    for facet in &mut facets {
        if let Some(o) = facet.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
    }
    graph.push(json!({"@id": file, "@type": "uco-observable:File", "uco-core:hasFacet": facets}));
    let mut objects = vec![json!({"@id": file})];
    if let Some((lat, lon)) = f.position {
        let place = id(&format!("location\0{key}"));
        graph.push(json!({
            "@id": place, "@type": "uco-location:Location",
            "uco-core:hasFacet": [{
                "@id": id(&format!("location-facet\0{key}")), "@type": "uco-location:LatLongCoordinatesFacet",
                "uco-location:latitude": {"@type": "xsd:decimal", "@value": lat.to_string()},
                "uco-location:longitude": {"@type": "xsd:decimal", "@value": lon.to_string()},
            }],
        }));
        objects.push(json!({"@id": place}));
    }
    (json!({"@id": file}), objects)
}
