//! The offline basemap: Natural Earth's 1:50m country outlines from world-atlas (TopoJSON,
//! src/web/assets/SOURCES.md), embedded in the binary and decoded once. TopoJSON stores
//! each border once as an arc of delta-encoded, quantised points; drawing every arc draws
//! every coastline and border, so no polygon needs assembling.

use std::sync::OnceLock;

const TOPOJSON: &str = include_str!("assets/countries-50m.json");

/// One arc in degrees (longitude, latitude), with its bounding box.
pub struct Arc {
    pub points: Vec<(f64, f64)>,
    pub min: (f64, f64),
    pub max: (f64, f64),
}

/// Every arc of the basemap (about 2,000), decoded on first use.
pub fn arcs() -> &'static [Arc] {
    static ARCS: OnceLock<Vec<Arc>> = OnceLock::new();
    ARCS.get_or_init(|| decode(TOPOJSON).unwrap_or_default())
}

fn decode(text: &str) -> Option<Vec<Arc>> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let scale = v["transform"]["scale"].as_array()?;
    let translate = v["transform"]["translate"].as_array()?;
    let (sx, sy) = (scale[0].as_f64()?, scale[1].as_f64()?);
    let (tx, ty) = (translate[0].as_f64()?, translate[1].as_f64()?);
    let mut out = Vec::new();
    for arc in v["arcs"].as_array()? {
        let (mut x, mut y) = (0i64, 0i64);
        let mut points = Vec::new();
        for p in arc.as_array()? {
            x += p[0].as_i64()?;
            y += p[1].as_i64()?;
            points.push((x as f64 * sx + tx, y as f64 * sy + ty));
        }
        let min = points
            .iter()
            .fold((f64::MAX, f64::MAX), |m, p| (m.0.min(p.0), m.1.min(p.1)));
        let max = points
            .iter()
            .fold((f64::MIN, f64::MIN), |m, p| (m.0.max(p.0), m.1.max(p.1)));
        out.push(Arc { points, min, max });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_basemap_decodes_to_the_world() {
        let arcs = super::arcs();
        assert!(arcs.len() > 1000, "{}", arcs.len());
        // Some arc passes near Tuscany (43.47 N, 11.88 E: the demo's square is inland, and
        // Italy's borders and coasts lie within a few degrees).
        assert!(
            arcs.iter()
                .any(|a| a.min.0 < 12.0 && a.max.0 > 11.0 && a.min.1 < 44.0 && a.max.1 > 42.0)
        );
        assert!(
            arcs.iter().all(|a| a.min.0 >= -180.0
                && a.max.0 <= 180.0
                && a.min.1 >= -90.0
                && a.max.1 <= 90.0)
        );
    }
}
