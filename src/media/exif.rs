//! EXIF: GPS position, capture time with its zone when the file gives one, camera and lens.
//!
//! Takes an image file's bytes (JPEG, TIFF, HEIF/HEIC, PNG, WebP containers, via
//! kamadak-exif); produces [`ExifFacts`], or `None` when there is no EXIF. Corrupt EXIF is an
//! error, never a panic or a guess. Values are kept as the file states them: a capture time
//! without `OffsetTimeOriginal` is "local time, zone unknown" and is never taken for UTC.

use exif::{In, Tag, Value};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gps {
    /// Decimal degrees, south negative.
    pub latitude: f64,
    /// Decimal degrees, west negative.
    pub longitude: f64,
    /// Metres, below sea level negative.
    pub altitude: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ExifFacts {
    pub gps: Option<Gps>,
    /// `YYYY-MM-DDTHH:MM:SS[.fff]` as the camera clock showed it.
    pub datetime_original: Option<String>,
    /// `+HH:MM` from OffsetTimeOriginal, when the file gives it.
    pub utc_offset: Option<String>,
    /// What is known of the zone: the offset, or "local time, zone unknown".
    pub time_zone: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub body_serial_number: Option<String>,
    pub lens: Option<String>,
    pub software: Option<String>,
    /// EXIF Orientation 1–8.
    pub orientation: Option<u32>,
    pub embedded_thumbnail: bool,
    /// Fields present but unusable (a zero denominator, a malformed date), by name.
    pub invalid: Vec<String>,
    /// Fields taken from the XMP packet because EXIF did not give them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_xmp: Vec<String>,
}

impl ExifFacts {
    /// Fills what EXIF left empty from XMP, naming each field so taken. EXIF wins where both
    /// speak: it is what the camera wrote; XMP is more often rewritten by editing software.
    pub fn fill_from_xmp(&mut self, xmp: ExifFacts) {
        macro_rules! fill {
            ($field:ident) => {
                if self.$field.is_none() && xmp.$field.is_some() {
                    self.$field = xmp.$field;
                    self.from_xmp.push(stringify!($field).to_string());
                }
            };
        }
        fill!(gps);
        if self.datetime_original.is_none() && xmp.datetime_original.is_some() {
            self.datetime_original = xmp.datetime_original;
            self.utc_offset = xmp.utc_offset;
            self.time_zone = xmp.time_zone;
            self.from_xmp.push("datetime_original".into());
        }
        fill!(make);
        fill!(model);
        fill!(body_serial_number);
        fill!(lens);
        fill!(software);
        fill!(orientation);
        self.invalid.extend(xmp.invalid);
    }
}

/// Reads the EXIF of a file's bytes. `Ok(None)`: the container holds no EXIF.
pub fn read(bytes: &[u8]) -> Result<Option<ExifFacts>, String> {
    read_partial(bytes).map(|r| r.map(|(facts, _)| facts))
}

// Long (~121 lines): every EXIF field spoor reports, read field by field from the IFDs.
/// [`read`], keeping what parses of a damaged EXIF block (a bad pointer in one IFD leaves the
/// others readable, as exiftool reads them) together with the damage found. `Err` when
/// nothing at all could be read.
pub fn read_partial(bytes: &[u8]) -> Result<Option<(ExifFacts, Vec<String>)>, String> {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let (exif, damage) = match reader.read_from_container(&mut std::io::Cursor::new(bytes)) {
        Ok(e) => (e, Vec::new()),
        Err(exif::Error::NotFound(_)) => return Ok(None),
        Err(exif::Error::PartialResult(partial)) => {
            let (e, errors) = partial.into_inner();
            let damage: Vec<String> = errors
                .iter()
                .map(|e| format!("exif: {e} (the fields that parsed are kept)"))
                .collect();
            if e.fields().len() == 0 {
                let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
                return Err(format!("exif: {first}"));
            }
            (e, damage)
        }
        Err(e) => return Err(format!("exif: {e}")),
    };
    let mut facts = ExifFacts::default();
    let text = |tag: Tag| -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => parts
                .first()
                .map(|p| {
                    String::from_utf8_lossy(p)
                        .trim()
                        .trim_end_matches('\0')
                        .to_string()
                })
                .filter(|s| !s.is_empty()),
            _ => None,
        }
    };
    facts.make = text(Tag::Make);
    facts.model = text(Tag::Model);
    facts.body_serial_number = text(Tag::BodySerialNumber);
    facts.lens = text(Tag::LensModel);
    facts.software = text(Tag::Software);
    facts.orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    facts.embedded_thumbnail = exif
        .get_field(Tag::JPEGInterchangeFormat, In::THUMBNAIL)
        .is_some();

    if let Some(raw) = text(Tag::DateTimeOriginal) {
        match exif::DateTime::from_ascii(raw.as_bytes()) {
            Ok(dt) => {
                let mut s = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
                );
                if let Some(sub) =
                    text(Tag::SubSecTimeOriginal).filter(|s| s.chars().all(|c| c.is_ascii_digit()))
                {
                    s.push('.');
                    s.push_str(&sub);
                }
                facts.datetime_original = Some(s);
                facts.utc_offset = text(Tag::OffsetTimeOriginal).filter(|o| valid_offset(o));
                facts.time_zone = Some(
                    facts
                        .utc_offset
                        .clone()
                        .unwrap_or_else(|| "local time, zone unknown".into()),
                );
            }
            Err(_) => facts.invalid.push("DateTimeOriginal".into()),
        }
    }

    let reference = |tag: Tag| text(tag).and_then(|s| s.chars().next());
    let lat = exif
        .get_field(Tag::GPSLatitude, In::PRIMARY)
        .map(|f| degrees(&f.value));
    let lon = exif
        .get_field(Tag::GPSLongitude, In::PRIMARY)
        .map(|f| degrees(&f.value));
    match (lat, lon) {
        (Some(Some(lat)), Some(Some(lon))) => {
            let lat = if reference(Tag::GPSLatitudeRef) == Some('S') {
                -lat
            } else {
                lat
            };
            let lon = if reference(Tag::GPSLongitudeRef) == Some('W') {
                -lon
            } else {
                lon
            };
            if lat.abs() <= 90.0 && lon.abs() <= 180.0 {
                let altitude = exif
                    .get_field(Tag::GPSAltitude, In::PRIMARY)
                    .and_then(|f| match &f.value {
                        Value::Rational(r) if r.first().is_some_and(|r| r.denom != 0) => {
                            Some(r[0].to_f64())
                        }
                        _ => None,
                    });
                let below = exif
                    .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
                    .and_then(|f| f.value.get_uint(0))
                    == Some(1);
                facts.gps = Some(Gps {
                    latitude: lat,
                    longitude: lon,
                    altitude: altitude.map(|a| if below { -a } else { a }),
                });
            } else {
                facts.invalid.push("GPS (out of range)".into());
            }
        }
        (None, None) => {}
        _ => facts
            .invalid
            .push("GPS (missing or zero denominator)".into()),
    }
    Ok(Some((facts, damage)))
}

fn valid_offset(o: &str) -> bool {
    let b = o.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
}

/// Degrees from EXIF's (degrees, minutes, seconds) rationals; missing parts count as 0, a
/// zero denominator makes the whole value unusable.
fn degrees(v: &Value) -> Option<f64> {
    let Value::Rational(parts) = v else {
        return None;
    };
    if parts.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for (r, scale) in parts.iter().zip([1.0, 60.0, 3600.0]) {
        if r.denom == 0 {
            // "0/0" is how some writers say "not given" for seconds; only a non-zero
            // numerator over zero is nonsense.
            if r.num == 0 {
                continue;
            }
            return None;
        }
        total += r.num as f64 / r.denom as f64 / scale;
    }
    Some(total)
}
