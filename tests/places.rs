//! Places: GPS positions clustered and named offline after the nearest GeoNames town, checked
//! against an independent brute-force haversine over the same gazetteer
//! (scripts/places_reference.py → tests/data/exif/PLACES_REFERENCE.tsv). Needs
//! scripts/fetch-models.sh (run by scripts/test.sh) for the gazetteer.

mod common;

use common::{data, expect_code, export};

#[test]
fn every_positioned_photo_is_named_after_the_nearest_town_and_nearby_photos_share_a_place() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let o = common::scan(&data("exif"), &case, "T", &["--quiet", "--geocode"]);
    // The fixture folder holds broken images too: exit 2, the rest recorded.
    expect_code(&o, 2, "scan with --geocode");
    let obs = export(&case, "observations");
    let place = |f: &str| {
        obs.iter()
            .find(|o| o["path"] == f && o["kind"] == "location.place")
            .unwrap_or_else(|| panic!("no location.place for {f}"))
    };
    let reference = std::fs::read_to_string(data("exif/PLACES_REFERENCE.tsv")).unwrap();
    let mut checked = 0;
    for line in reference.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let p = place(c[0]);
        let own = &p["value"]["nearest_to_item"];
        assert_eq!(
            (own["name"].as_str(), own["cc"].as_str()),
            (Some(c[3]), Some(c[5])),
            "{}",
            c[0]
        );
        let d: f64 = c[6].parse().unwrap();
        assert!(
            (own["distance_km"].as_f64().unwrap() - d).abs() < 0.01,
            "{}",
            c[0]
        );
        assert_eq!(p["provenance"]["attribution"], spoor::places::ATTRIBUTION);
        checked += 1;
    }
    assert_eq!(checked, 17);
    // DSCN0010, 0012 and 0021 were taken within 100 m of each other: one place, named Arezzo.
    let a = place("DSCN0010.jpg");
    assert_eq!(a["value"]["members"], 3);
    for f in ["DSCN0012.jpg", "DSCN0021.jpg"] {
        assert_eq!(place(f)["value"]["place"], a["value"]["place"]);
    }
    assert_eq!(a["value"]["nearest"]["name"], "Arezzo");
    assert_ne!(place("GPS.jpg")["value"]["place"], a["value"]["place"]);
    // A wider radius (1 km) joins every Arezzo photo into one place.
    let case2 = dir.path().join("case2");
    common::scan(
        &data("exif"),
        &case2,
        "T",
        &["--quiet", "--geocode", "--place-radius", "1000"],
    );
    let obs2 = export(&case2, "observations");
    let arezzo = obs2
        .iter()
        .filter(|o| {
            o["kind"] == "location.place" && o["path"].as_str().unwrap().starts_with("DSCN")
        })
        .map(|o| o["value"]["place"].clone())
        .collect::<std::collections::HashSet<_>>();
    assert_eq!(arezzo.len(), 1, "{arezzo:?}");
    // The report credits GeoNames.
    expect_code(
        &common::run(&["report", case.to_str().unwrap()]),
        0,
        "report",
    );
    let html = std::fs::read_to_string(case.join("exports/report.html")).unwrap();
    assert!(html.contains("GeoNames"), "no attribution in the report");
}

#[test]
fn geocoding_without_the_gazetteer_stops_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    common::write(&ev.join("a.txt"), b"a");
    let o = common::spoor()
        .args(["scan", ev.to_str().unwrap(), "--case"])
        .arg(dir.path().join("case"))
        .args(["--examiner", "T", "--geocode"])
        .env("SPOOR_MODELS", dir.path().join("no-models"))
        .output()
        .unwrap();
    expect_code(&o, 1, "no gazetteer");
    assert!(
        common::stderr(&o).contains("gazetteer"),
        "{}",
        common::stderr(&o)
    );
    assert!(!dir.path().join("case").exists());
}
