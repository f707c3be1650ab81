#!/usr/bin/env python3
"""Behaviour check for refactors (issue 12): snapshot the exports of two cases, compare later.

  compare-exports.sh snapshot DIR [--binary PATH]
      scans (a) the built-in demo evidence with its hash sets and PDQ list and (b) a mix of the
      fixtures in tests/data with the default models, and writes DIR/{demo,fixtures}.{kind}.jsonl
      for items, observations, records, leads and errors (each sorted, as `spoor export` is)
  compare-exports.sh diff BEFORE AFTER [--ignore FIELD,...]
      compares two snapshots line by line after removing fields that differ between any two
      runs (file times and inode numbers of freshly written demo files) and the --ignore ones;
      prints the first differences per file and exits 1 when any

The fixtures are scanned in place (read-only, access times untouched), so their times are the
checkout's and compare equal between two snapshots of one checkout.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["items", "observations", "records", "leads", "errors"]
# Differ between two runs whatever the code: the demo evidence is written afresh each time.
VOLATILE = {"atime", "mtime", "ctime", "btime", "inode", "device", "nlink", "uid", "gid"}
FIXTURE_SOURCES = ["comms", "exif", "video", "vision", "detection", "pdq", "heif", "hashsets"]


def run(cmd, ok=(0, 2)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok:
        sys.exit(f"compare-exports: {' '.join(map(str, cmd))} exited {p.returncode}\n{p.stderr}")
    return p.stdout


def snapshot(out: Path, binary: str):
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="spoor-compare-"))
    try:
        ev = work / "demo-evidence"
        run([binary, "demo-data", str(ev)], ok=(0,))
        demo = work / "demo-case"
        run([binary, "scan", str(ev / "laptop-bram"), str(ev / "phone-anna"), str(ev / "usb-stick"),
             "--case", str(demo), "--examiner", "Compare", "--quiet",
             "--hashset", f"{ev}/hashsets/demo-known-bad.txt:bad:CAT-DEMO",
             "--hashset", f"{ev}/hashsets/demo-known-good-NSRLFile.txt:good",
             "--pdqlist", f"{ev}/hashsets/demo-known-bad-pdq.txt:bad:CAT-DEMO"])
        fixtures = work / "fixtures-case"
        sources = [str(ROOT / "tests" / "data" / s) for s in FIXTURE_SOURCES if (ROOT / "tests" / "data" / s).is_dir()]
        run([binary, "scan", *sources, "--case", str(fixtures), "--examiner", "Compare", "--quiet",
             "--models", "default", "--region", "NL"])
        for name, case in (("demo", demo), ("fixtures", fixtures)):
            for kind in KINDS:
                (out / f"{name}.{kind}.jsonl").write_text(run([binary, "export", str(case), "--kind", kind], ok=(0,)))
        print(f"snapshot written to {out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def normalised(path: Path, ignore):
    lines = []
    for line in path.read_text().splitlines():
        value = json.loads(line)
        for key in VOLATILE | ignore:
            value.pop(key, None)
        lines.append(json.dumps(value, sort_keys=True))
    return lines


def diff(before: Path, after: Path, ignore):
    differs = False
    for name in ("demo", "fixtures"):
        for kind in KINDS:
            a, b = before / f"{name}.{kind}.jsonl", after / f"{name}.{kind}.jsonl"
            la, lb = normalised(a, ignore), normalised(b, ignore)
            if la == lb:
                print(f"{name} {kind}: {len(la)} lines, equal")
                continue
            differs = True
            print(f"{name} {kind}: {len(la)} lines before, {len(lb)} after, DIFFERENT")
            only_a = sorted(set(la) - set(lb))[:3]
            only_b = sorted(set(lb) - set(la))[:3]
            for l in only_a:
                print(f"  - {l[:300]}")
            for l in only_b:
                print(f"  + {l[:300]}")
    sys.exit(1 if differs else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("dir")
    s.add_argument("--binary", default=str(ROOT / "target" / "release" / "spoor"))
    d = sub.add_parser("diff")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--ignore", default="", help="comma-separated fields to leave out as well")
    args = ap.parse_args()
    if args.command == "snapshot":
        snapshot(Path(args.dir), args.binary)
    else:
        diff(Path(args.before), Path(args.after), {f for f in args.ignore.split(",") if f})


if __name__ == "__main__":
    main()
