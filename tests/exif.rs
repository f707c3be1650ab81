//! EXIF/GPS against the values the reference tools print for the same files
//! (tests/data/exif/SOURCES.md), and robustness on broken images.

mod common;

use common::data;
use spoor::media::exif;

/// Parses a reference tool's printed coordinate into (decimal degrees, tolerance).
/// EXIF.py prints the raw rationals (`N [43, 28, 1407/500]`): exact, so 1e-6.
/// exiftool prints rounded units (`54 degrees 59.38 minutes N`, `40 deg 24' 0.25" N`): the
/// tolerance is half the last printed digit of the smallest unit.
fn reference(printed: &str) -> (f64, f64) {
    let sign = |h: &str| if h == "S" || h == "W" { -1.0 } else { 1.0 };
    if let Some(rest) = printed.strip_suffix(']') {
        let (hemisphere, list) = rest.split_once(" [").unwrap();
        let mut total = 0.0;
        for (part, scale) in list.split(", ").zip([1.0, 60.0, 3600.0]) {
            let value = match part.split_once('/') {
                Some((n, d)) if d.trim() == "0" => {
                    assert_eq!(n.trim(), "0");
                    0.0
                }
                Some((n, d)) => n.trim().parse::<f64>().unwrap() / d.trim().parse::<f64>().unwrap(),
                None => part.trim().parse().unwrap(),
            };
            total += value / scale;
        }
        return (sign(hemisphere) * total, 1e-6);
    }
    let hemisphere = printed.rsplit(' ').next().unwrap();
    let numbers: Vec<&str> = printed
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|s| !s.is_empty())
        .collect();
    let mut total = 0.0;
    let mut tolerance = 0.0;
    for (n, scale) in numbers.iter().zip([1.0, 60.0, 3600.0]) {
        total += n.parse::<f64>().unwrap() / scale;
        let decimals = n.split_once('.').map(|(_, d)| d.len()).unwrap_or(0);
        tolerance = 0.5 * 10f64.powi(-(decimals as i32)) / scale;
    }
    (sign(hemisphere) * total, tolerance.max(1e-6))
}

#[test]
fn gps_equals_the_reference_tools_on_every_fixture_that_has_it() {
    let tsv = std::fs::read_to_string(data("exif/GPS_REFERENCE.tsv")).unwrap();
    let mut checked = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let file = cols[1].rsplit('/').next().unwrap();
        let bytes = std::fs::read(data(&format!("exif/{file}"))).unwrap();
        let facts = exif::read(&bytes)
            .unwrap()
            .unwrap_or_else(|| panic!("{file}: no EXIF"));
        let gps = facts
            .gps
            .unwrap_or_else(|| panic!("{file}: no GPS ({:?})", facts.invalid));
        let ((lat, lat_tol), (lon, lon_tol)) = (reference(cols[2]), reference(cols[3]));
        assert!(
            (gps.latitude - lat).abs() <= lat_tol,
            "{file}: latitude {} vs {lat} ± {lat_tol} ({})",
            gps.latitude,
            cols[4]
        );
        assert!(
            (gps.longitude - lon).abs() <= lon_tol,
            "{file}: longitude {} vs {lon} ± {lon_tol} ({})",
            gps.longitude,
            cols[4]
        );
        checked += 1;
    }
    assert_eq!(checked, 16);
}

#[test]
fn camera_time_and_zone_are_reported_as_the_file_states_them() {
    let facts = exif::read(&std::fs::read(data("exif/DSCN0010.jpg")).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(facts.make.as_deref(), Some("NIKON"));
    assert_eq!(facts.model.as_deref(), Some("COOLPIX P6000"));
    assert_eq!(
        facts.datetime_original.as_deref(),
        Some("2008-10-22T16:28:39")
    );
    // No OffsetTimeOriginal in a 2008 Coolpix file: never silently UTC.
    assert_eq!(facts.utc_offset, None);
    assert_eq!(facts.time_zone.as_deref(), Some("local time, zone unknown"));
    assert_eq!(facts.orientation, Some(1));
    // The file has GPSAltitudeRef but no GPSAltitude (exif-py's dump): no altitude is made up.
    assert_eq!(facts.gps.unwrap().altitude, None);
    // exiftool's GPS.t: FUJIFILM FinePixS1Pro, DateTimeOriginal 2002:07:13 15:58:28.
    let fuji = exif::read(&std::fs::read(data("exif/GPS.jpg")).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(fuji.make.as_deref(), Some("FUJIFILM"));
    assert_eq!(
        fuji.datetime_original.as_deref(),
        Some("2002-07-13T15:58:28")
    );
}

#[test]
fn broken_images_give_no_exif_or_an_error_never_a_panic_or_a_hang() {
    // Pinned: a folder that lost its files would otherwise pass this test with none read.
    // (Speed is not asserted here; a hang would stop the test itself.)
    let mut read = 0;
    for entry in std::fs::read_dir(data("exif/invalid")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        read += 1;
        let result = std::panic::catch_unwind(|| exif::read(&bytes));
        assert!(result.is_ok(), "{}: panicked", path.display());
        // exif-py finds no EXIF in these; a reader may also call them corrupt.
        if let Ok(Ok(Some(facts))) = result {
            assert!(
                facts.gps.is_none(),
                "{}: invented a position",
                path.display()
            );
        }
    }
    assert_eq!(read, 7, "the invalid EXIF fixtures");
}

#[test]
fn a_scan_records_exif_and_gps_observations() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    for name in ["DSCN0010.jpg", "Kodak_CX7530.jpg"] {
        common::write(
            &evidence.join(name),
            &std::fs::read(data(&format!("exif/{name}"))).unwrap(),
        );
    }
    let case = tmp.path().join("case");
    common::expect_code(
        &common::scan(&evidence, &case, "T", &["--quiet"]),
        0,
        "scan",
    );
    let obs = common::export(&case, "observations");
    let gps = |p: &str| {
        obs.iter()
            .find(|o| o["path"] == p && o["kind"] == "image.gps")
            .map(|o| o["value"].clone())
    };
    let nikon = gps("DSCN0010.jpg").expect("image.gps for DSCN0010.jpg");
    let (lat, _) = reference("N [43, 28, 1407/500]");
    assert!((nikon["latitude"].as_f64().unwrap() - lat).abs() < 1e-6);
    // Southern hemisphere comes out negative.
    assert!(
        gps("Kodak_CX7530.jpg").unwrap()["latitude"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert!(obs.iter().any(|o| o["path"] == "DSCN0010.jpg"
        && o["kind"] == "image.exif"
        && o["value"]["model"] == "COOLPIX P6000"));
}
