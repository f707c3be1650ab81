//! XMP (Adobe's RDF/XML metadata, ISO 16684-1) embedded in images: GPS, capture time with its
//! zone, camera, lens, software.
//!
//! The packet is found by its `<x:xmpmeta` … `</x:xmpmeta>` markers, which every container
//! (JPEG APP1, TIFF tag 700, PNG iTXt, WebP/HEIF boxes, GIF application extension) stores as
//! plain UTF-8, so one search serves them all. Properties are matched by namespace URI and
//! local name, in both RDF forms (attribute of `rdf:Description` and child element); prefixes
//! are whatever the writer chose. Values are parsed as the XMP specification's EXIF mapping
//! writes them: GPS coordinates as "DDD,MM,SSk" or "DDD,MM.mmk", altitude as a rational,
//! dates as ISO 8601 with or without a zone.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

const NS_EXIF: &[u8] = b"http://ns.adobe.com/exif/1.0/";
const NS_TIFF: &[u8] = b"http://ns.adobe.com/tiff/1.0/";
const NS_XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/";
const NS_AUX: &[u8] = b"http://ns.adobe.com/exif/1.0/aux/";
const NS_EXIF_EX: &[u8] = b"http://cipa.jp/exif/1.0/";
const NS_PHOTOSHOP: &[u8] = b"http://ns.adobe.com/photoshop/1.0/";

/// The properties read, as (namespace, local name).
const WANTED: &[(&[u8], &str)] = &[
    (NS_EXIF, "GPSLatitude"),
    (NS_EXIF, "GPSLongitude"),
    (NS_EXIF, "GPSAltitude"),
    (NS_EXIF, "GPSAltitudeRef"),
    (NS_EXIF, "DateTimeOriginal"),
    (NS_PHOTOSHOP, "DateCreated"),
    (NS_XMP, "CreateDate"),
    (NS_TIFF, "Make"),
    (NS_TIFF, "Model"),
    (NS_TIFF, "Orientation"),
    (NS_EXIF_EX, "BodySerialNumber"),
    (NS_AUX, "SerialNumber"),
    (NS_EXIF_EX, "LensModel"),
    (NS_AUX, "Lens"),
    (NS_XMP, "CreatorTool"),
];

/// Largest packet parsed; real ones are a few KB (Lightroom's reach ~100 KB).
const MAX_PACKET: usize = 4 << 20;

/// The XMP packet of a file's bytes, if it has one. In a JPEG only the segments before the
/// image data are searched (XMP lives in APP1; the scan data could hold the marker by chance,
/// and searching it cost most of the metadata time on camera-size photos).
pub fn find_packet(bytes: &[u8]) -> Option<&[u8]> {
    let bytes = &bytes[..super::jpeg_metadata_end(bytes).unwrap_or(bytes.len())];
    let start = memchr::memmem::find(bytes, b"<x:xmpmeta")?;
    let end_tag = b"</x:xmpmeta>";
    let rest = &bytes[start..bytes.len().min(start + MAX_PACKET)];
    let end = memchr::memmem::find(rest, end_tag)?;
    Some(&rest[..end + end_tag.len()])
}

/// The wanted properties' raw string values, by local name (first occurrence wins).
pub fn properties(packet: &[u8]) -> Result<Vec<(&'static str, String)>, String> {
    let mut reader = quick_xml::reader::NsReader::from_reader(packet);
    let mut found: Vec<(&'static str, String)> = Vec::new();
    // The wanted property whose element is open, and its text so far.
    let mut open: Option<(&'static str, String, usize)> = None;
    let mut depth = 0usize;
    let mut buf = Vec::new();
    let wanted = |ns: &ResolveResult, local: &[u8]| -> Option<&'static str> {
        let ResolveResult::Bound(ns) = ns else {
            return None;
        };
        WANTED
            .iter()
            .find(|(n, l)| *n == ns.as_ref() && l.as_bytes() == local)
            .map(|(_, l)| *l)
    };
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| format!("xmp: {e}"))?;
        // Resolved now: `ns` borrows the reader, which the attributes need next.
        let element = match &event {
            Event::Start(e) => wanted(&ns, e.local_name().as_ref()),
            _ => None,
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(event, Event::Start(_));
                for attr in e.attributes().flatten() {
                    let (ans, local) = reader.resolve_attribute(attr.key);
                    if let Some(name) = wanted(&ans, local.as_ref())
                        && !found.iter().any(|(n, _)| *n == name)
                        && let Ok(v) = attr.unescape_value()
                    {
                        found.push((name, v.trim().to_string()));
                    }
                }
                if is_start {
                    depth += 1;
                    if open.is_none()
                        && let Some(name) = element
                    {
                        open = Some((name, String::new(), depth));
                    }
                }
            }
            Event::Text(ref t) => {
                if let Some((_, text, _)) = open.as_mut()
                    && let Ok(s) = t.decode()
                {
                    text.push_str(&s);
                }
            }
            Event::CData(ref t) => {
                if let Some((_, text, _)) = open.as_mut() {
                    text.push_str(&String::from_utf8_lossy(t));
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some((_, text, _)) = open.as_mut()
                    && let Ok(name) = r.decode()
                {
                    text.push_str(entity(&name).as_deref().unwrap_or(""));
                }
            }
            Event::End(_) => {
                if let Some((name, text, at)) = open.take() {
                    if at == depth {
                        // A list (rdf:Seq/Alt) keeps the text of its first item only.
                        let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
                        if !value.is_empty() && !found.iter().any(|(n, _)| *n == name) {
                            found.push((name, value));
                        }
                    } else {
                        open = Some((name, text, at));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(found)
}

fn entity(name: &str) -> Option<String> {
    Some(match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)?.to_string()
        }
    })
}

/// "54,59.38N" or "54,59,22.8N" (XMP's EXIF mapping) → signed decimal degrees.
pub fn coordinate(s: &str) -> Option<f64> {
    let s = s.trim();
    let hemisphere = s.chars().last()?.to_ascii_uppercase();
    let sign = match hemisphere {
        'N' | 'E' => 1.0,
        'S' | 'W' => -1.0,
        _ => return None,
    };
    let body = &s[..s.len() - 1];
    let parts: Vec<f64> = body
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let value = match parts.as_slice() {
        [d, m] => d + m / 60.0,
        [d, m, sec] => d + m / 60.0 + sec / 3600.0,
        _ => return None,
    };
    (value.is_finite() && value >= 0.0).then_some(sign * value)
}

/// "1234/10" or "123.4" → 123.4
pub fn rational(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = match s.split_once('/') {
        Some((n, d)) => {
            let d: f64 = d.trim().parse().ok()?;
            if d == 0.0 {
                return None;
            }
            n.trim().parse::<f64>().ok()? / d
        }
        None => s.parse().ok()?,
    };
    v.is_finite().then_some(v)
}

/// ISO 8601 as XMP writes it → (local date-time "YYYY-MM-DDTHH:MM:SS[.fff]", offset "+HH:MM"
/// or `None` when the value has no zone). "Z" is an offset of +00:00, stated by the file.
pub fn date(s: &str) -> Option<(String, Option<String>)> {
    // Some writers (GIMP) put EXIF's "YYYY:MM:DD HH:MM:SS" into XMP; read it as ISO 8601.
    let owned;
    let s = match s.trim().as_bytes() {
        b if b.len() >= 19 && b[4] == b':' && b[7] == b':' && b[10] == b' ' => {
            let mut v = b.to_vec();
            (v[4], v[7], v[10]) = (b'-', b'-', b'T');
            owned = String::from_utf8(v).ok()?;
            owned.as_str()
        }
        _ => s.trim(),
    };
    let (body, offset) = if let Some(b) = s.strip_suffix('Z') {
        (b, Some("+00:00".to_string()))
    } else if s.len() > 6 && s.is_char_boundary(s.len() - 6) {
        let (b, o) = s.split_at(s.len() - 6);
        let ob = o.as_bytes();
        if (ob[0] == b'+' || ob[0] == b'-') && ob[3] == b':' && b.contains('T') {
            (b, Some(o.to_string()))
        } else {
            (s, None)
        }
    } else {
        (s, None)
    };
    let bytes = body.as_bytes();
    // Date and time are required to count as a capture time; a bare date is not one.
    if bytes.len() < 16 || bytes[10] != b'T' {
        return None;
    }
    let digits_at = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
    if !(digits_at(0..4) && bytes[4] == b'-' && digits_at(5..7) && bytes[7] == b'-')
        || !(digits_at(8..10) && digits_at(11..13) && bytes[13] == b':' && digits_at(14..16))
    {
        return None;
    }
    let mut local = body.to_string();
    if local.len() == 16 {
        local.push_str(":00");
    }
    Some((local, offset))
}

/// The facts an XMP packet states, in the same shape as EXIF's. `Ok(None)`: no packet.
/// A packet that is not well-formed XML is an error (the caller keeps the EXIF facts).
pub fn read(bytes: &[u8]) -> Result<Option<super::exif::ExifFacts>, String> {
    let Some(packet) = find_packet(bytes) else {
        return Ok(None);
    };
    let props = properties(packet)?;
    let get = |name: &str| {
        props
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut facts = super::exif::ExifFacts::default();
    let text = |name: &str| get(name).map(str::to_string).filter(|s| !s.is_empty());
    facts.make = text("Make");
    facts.model = text("Model");
    facts.body_serial_number = text("BodySerialNumber").or_else(|| text("SerialNumber"));
    facts.lens = text("LensModel").or_else(|| text("Lens"));
    facts.software = text("CreatorTool");
    facts.orientation = get("Orientation")
        .and_then(|o| o.parse().ok())
        .filter(|o| (1..=8).contains(o));
    // DateTimeOriginal is the capture time; photoshop:DateCreated is its IPTC-era twin;
    // xmp:CreateDate is only taken when neither is there (it is often the scan or export time).
    let when = ["DateTimeOriginal", "DateCreated", "CreateDate"]
        .iter()
        .find_map(|n| get(n).map(|v| (*n, v)));
    if let Some((name, raw)) = when {
        match date(raw) {
            Some((local, offset)) => {
                facts.time_zone = Some(
                    offset
                        .clone()
                        .unwrap_or_else(|| "local time, zone unknown".into()),
                );
                facts.datetime_original = Some(local);
                facts.utc_offset = offset;
            }
            None => facts.invalid.push(format!("XMP {name}")),
        }
    }
    match (get("GPSLatitude"), get("GPSLongitude")) {
        (Some(lat), Some(lon)) => match (coordinate(lat), coordinate(lon)) {
            (Some(latitude), Some(longitude))
                if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 =>
            {
                let below = get("GPSAltitudeRef").map(str::trim) == Some("1");
                let altitude = get("GPSAltitude")
                    .and_then(rational)
                    .map(|a| if below { -a } else { a });
                facts.gps = Some(super::exif::Gps {
                    latitude,
                    longitude,
                    altitude,
                });
            }
            _ => facts
                .invalid
                .push("XMP GPS (unparseable or out of range)".into()),
        },
        (None, None) => {}
        _ => facts
            .invalid
            .push("XMP GPS (latitude or longitude missing)".into()),
    }
    Ok(Some(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_both_xmp_forms() {
        assert!((coordinate("54,59.38N").unwrap() - (54.0 + 59.38 / 60.0)).abs() < 1e-12);
        assert!(
            (coordinate("1,54,51W").unwrap() + (1.0 + 54.0 / 60.0 + 51.0 / 3600.0)).abs() < 1e-12
        );
        assert_eq!(coordinate("54.5"), None);
        assert_eq!(coordinate("N"), None);
        assert_eq!(rational("1234/10"), Some(123.4));
        assert_eq!(rational("5/0"), None);
    }

    #[test]
    fn dates_keep_their_zone_or_say_none() {
        assert_eq!(
            date("2005-06-09T20:09:27+02:00"),
            Some(("2005-06-09T20:09:27".into(), Some("+02:00".into())))
        );
        assert_eq!(
            date("2008-10-20T19:54:15"),
            Some(("2008-10-20T19:54:15".into(), None))
        );
        assert_eq!(
            date("2008-10-20T19:54Z"),
            Some(("2008-10-20T19:54:00".into(), Some("+00:00".into())))
        );
        assert_eq!(date("2008-10-20"), None);
        assert_eq!(
            date("2012:07:14 16:30:12"),
            Some(("2012-07-14T16:30:12".into(), None))
        );
    }

    #[test]
    fn attribute_and_element_forms_with_any_prefix() {
        let packet = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
            <rdf:Description xmlns:e="http://ns.adobe.com/exif/1.0/" e:GPSLatitude="52,22.5N">
              <e:GPSLongitude>4,53.5E</e:GPSLongitude>
              <tiff:Make xmlns:tiff="http://ns.adobe.com/tiff/1.0/">ACME &amp; Sons</tiff:Make>
              <other:Make xmlns:other="urn:not-tiff">wrong</other:Make>
            </rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let props = properties(packet).unwrap();
        assert!(props.contains(&("GPSLatitude", "52,22.5N".into())));
        assert!(props.contains(&("GPSLongitude", "4,53.5E".into())));
        assert!(props.contains(&("Make", "ACME & Sons".into())));
        assert_eq!(props.iter().filter(|(n, _)| *n == "Make").count(), 1);
        assert!(properties(b"<x:xmpmeta><a></b></x:xmpmeta>").is_err());
    }
}
