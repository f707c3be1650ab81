#!/usr/bin/env python3
"""Compares the message text spoor reads from iMessage `attributedBody` blobs with
pytypedstream's (LGPL-3.0, a complete typedstream unarchiver): every file of the folders given
that pytypedstream reads as an NSAttributedString is decoded by both, and any difference is
printed. Needs `pip install pytypedstream` and a built `attributed_body` example.

  cargo build --release --example attributed_body
  python3 scripts/typedstream_reference.py target/release/examples/attributed_body DIR...
"""
import json, os, subprocess, sys

import typedstream

tool, dirs = sys.argv[1], sys.argv[2:]
files = sorted(os.path.join(d, f) for d in dirs for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)))
reference = {}
for path in files:
    try:
        root = typedstream.unarchive_from_data(open(path, "rb").read())
        value = root.contents[0].value
        if type(value).__name__ in ("NSString", "NSMutableString"):
            reference[path] = value.value
    except Exception:
        pass  # not an attributed string: not part of the comparison
ours = {}
for line in subprocess.run([tool, *reference], capture_output=True, text=True, check=True).stdout.splitlines():
    row = json.loads(line)
    ours[row["file"]] = row.get("text", "ERROR: " + row.get("error", ""))
same = sum(ours.get(p) == t for p, t in reference.items())
for path, text in reference.items():
    if ours.get(path) != text:
        print(f"DIFFERENT {path}\n  pytypedstream: {text!r}\n  spoor:         {ours.get(path)!r}")
print(f"{same} of {len(reference)} attributed strings equal pytypedstream's "
      f"({len(files) - len(reference)} other files skipped)")
sys.exit(0 if same == len(reference) else 1)
