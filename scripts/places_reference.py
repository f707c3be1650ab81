#!/usr/bin/env python3
"""Reference for tests/places.rs: the nearest GeoNames town to each fixture position by
great-circle distance, by brute force over the same gazetteer file (an independent
implementation in plain Python: haversine, no shared code with spoor).

  python3 scripts/places_reference.py models/geonames/rg_cities1000.csv POSITIONS.tsv > tests/data/exif/PLACES_REFERENCE.tsv

POSITIONS.tsv: file, latitude, longitude (the positions exiftool prints for the fixtures).
"""
import csv, math, sys

def haversine(a, b, c, d):
    a, b, c, d = map(math.radians, (a, b, c, d))
    h = math.sin((c - a) / 2) ** 2 + math.cos(a) * math.cos(c) * math.sin((d - b) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))

towns = [(float(r["lat"]), float(r["lon"]), r) for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))]
print("file\tlatitude\tlongitude\tname\tadmin1\tcc\tdistance_km")
for line in open(sys.argv[2]):
    f, lat, lon = line.rstrip("\n").split("\t")
    lat, lon = float(lat), float(lon)
    d, (_, _, r) = min((haversine(lat, lon, t[0], t[1]), t) for t in towns)
    print(f"{f}\t{lat:.9f}\t{lon:.9f}\t{r['name']}\t{r['admin1']}\t{r['cc']}\t{d:.3f}")
