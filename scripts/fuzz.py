#!/usr/bin/env python3
"""Mutation fuzzing of every parser and decoder spoor has, through the binary, on stable Rust.

Each mutant of a fixture in tests/data (bit flips, truncation, a duplicated block, a zeroed
block, a huge length field, a sparse tail) is scanned alone, as the only file of its own
evidence folder, under a time limit. Outcomes:

  ok            exit 0 or 2 (2: item errors recorded), and the file is not silently skipped
  panic         a panic reached the exit status (101) or stderr, or one was caught and recorded
                (an error record saying "panicked": the guard worked, the parser still has a bug)
  hang          the scan ran past the time limit (killed)
  signal        the process died of a signal (SIGSEGV, SIGABRT, out of memory ...)
  fatal         exit 1 (a fatal error: nothing should make one file fatal)
  silent-skip   the mutant is still typed as its fixture's format (same MIME type by a
                binary signature, or recognised as the same export; plain text, XML or
                JSON alone is not a format) yet yields neither that format's output
                (records, or the fixture's own observation kinds) nor an error record

The seed fixes every mutant: the same seed, fixtures and count give the same mutants. Exit
status 1 when any outcome other than ok was seen; every finding is listed with the seed and
mutant number that reproduce it (--only N), and --keep DIR keeps the mutant files.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_NAMES = ("SOURCES.md", "LICENSE", "COPYING", "README")
# Observations every file gets, whatever its format: not evidence that a parser ran.
GENERIC_KINDS = {"hashset.match", "type.extension_mismatch", "text.document", "text.entity",
                 "keyword.hit", "pdqlist.match"}
GENERIC_TYPES = {"text/plain", "application/octet-stream", "text/xml", "application/xml",
                 "application/json", "text/csv", "text/html"}
MAX_FIXTURE = 8 << 20  # larger fixtures (videos) are fuzzed from their first 8 MiB


def fixtures():
    files = []
    for p in sorted((ROOT / "tests" / "data").rglob("*")):
        if not p.is_file() or any(s in p.name for s in SKIP_NAMES):
            continue
        files.append(p)
    # A maildir holds dozens of near-identical messages: three stand for them.
    maildir = [p for p in files if "/maildir/" in str(p)]
    return [p for p in files if p not in maildir[3:]]


def mutate(data: bytes, rng: random.Random):
    """One mutation of `data`: (description, bytes, sparse tail length)."""
    n = len(data)
    kind = rng.choice(["flip", "flip", "truncate", "duplicate", "zero", "length", "sparse"])
    if n == 0:
        kind = "sparse"
    b = bytearray(data)
    if kind == "flip":
        # Mostly in the header, where formats keep their structure.
        flips = rng.randint(1, 8)
        for _ in range(flips):
            i = rng.randrange(min(n, 4096)) if rng.random() < 0.7 else rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        return f"flip {flips} bits", bytes(b), 0
    if kind == "truncate":
        at = rng.randrange(n)
        return f"truncate at {at}", bytes(b[:at]), 0
    if kind == "duplicate":
        start = rng.randrange(n)
        length = rng.randint(1, min(65536, n - start))
        block = b[start:start + length]
        return f"duplicate {length} bytes at {start}", bytes(b[:start + length] + block + b[start + length:]), 0
    if kind == "zero":
        start = rng.randrange(n)
        length = rng.randint(1, min(65536, n - start))
        b[start:start + length] = bytes(length)
        return f"zero {length} bytes at {start}", bytes(b), 0
    if kind == "length":
        # A length or offset field made huge: 4 bytes at an aligned place in the first 4 KB.
        at = rng.randrange(0, max(1, min(n, 4096) - 4), 2) if n >= 4 else 0
        value = rng.choice([b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xfe\xff\xff\xff"])
        if rng.random() < 0.5:
            value = value[::-1]
        b[at:at + 4] = value
        return f"huge length at {at}", bytes(b[:max(n, at + 4)]), 0
    tail = rng.choice([1 << 20, 64 << 20, 1 << 30])
    return f"sparse tail of {tail} bytes", bytes(b), tail


def export(binary, case):
    out = subprocess.run([binary, "export", str(case)], capture_output=True, timeout=120)
    lines = [json.loads(l) for l in out.stdout.decode("utf-8", "replace").splitlines() if l.strip()]
    return lines


def facts(lines, name):
    """What a scan of one file called `name` produced for it and its children."""
    mine = lambda p: p == name or (p or "").startswith(name + "//")
    item = next((l for l in lines if l["record"] == "item" and l.get("path") == name), {})
    kinds = {l["kind"] for l in lines if l["record"] == "observation" and mine(l.get("path"))}
    formats = {(l.get("value") or {}).get("format") for l in lines
               if l["record"] == "observation" and l.get("kind") == "comms.export" and l.get("path") == name}
    records = sum(1 for l in lines if l["record"] == "comm" and mine(l.get("path")))
    errors = [l for l in lines if l["record"] == "error" and mine(l.get("path"))]
    return {"mime": item.get("mime"), "kinds": kinds, "formats": formats - {None},
            "records": records, "errors": errors}


def scan(binary, evidence, case, limit):
    started = time.monotonic()
    try:
        p = subprocess.run([binary, "scan", str(evidence), "--case", str(case), "--examiner", "fuzz", "--quiet"],
                           capture_output=True, timeout=limit, stdin=subprocess.DEVNULL)
        return p.returncode, p.stderr.decode("utf-8", "replace"), time.monotonic() - started
    except subprocess.TimeoutExpired:
        return None, "", time.monotonic() - started


def classify(code, stderr, original, mutant):
    if code is None:
        return "hang"
    if code < 0:
        return "signal"
    if code == 101 or "panicked at" in stderr:
        return "panic"
    if any("panic" in (e.get("reason") or "") for e in mutant["errors"]):
        return "panic"
    if code == 1:
        return "fatal"
    if code not in (0, 2):
        return f"exit {code}"
    # A generic text type (plain text, XML, JSON) says nothing of the format inside it: such
    # a mutant is "still its format" only when it is still recognised as the same export. A
    # binary signature (JPEG, zip, SQLite, MP4 ...) is the format itself.
    same_type = mutant["mime"] == original["mime"] and original["mime"] not in GENERIC_TYPES
    same_export = bool(original["formats"] & mutant["formats"])
    if same_type or same_export:
        format_kinds = original["kinds"] - GENERIC_KINDS
        output = mutant["records"] > 0 or bool(mutant["kinds"] & format_kinds)
        if (original["records"] > 0 or format_kinds) and not output and not mutant["errors"]:
            return "silent-skip"
    return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--mutants", type=int, default=200, help="how many mutants in all (default 200)")
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per mutant scan (default 30)")
    ap.add_argument("--binary", default=None, help="spoor binary (default: target/release, else target/debug)")
    ap.add_argument("--only", type=int, default=None, help="run only mutant N (to reproduce a finding)")
    ap.add_argument("--keep", default=None, help="keep every mutant that is not ok in this folder")
    args = ap.parse_args()

    binary = args.binary
    if binary is None:
        for candidate in ("target/release/spoor", "target/debug/spoor"):
            if (ROOT / candidate).is_file():
                binary = str(ROOT / candidate)
                break
    if binary is None:
        sys.exit("fuzz: build spoor first (cargo build --release)")

    rng = random.Random(args.seed)
    pool = fixtures()
    work = Path(tempfile.mkdtemp(prefix="spoor-fuzz-"))
    baselines = {}
    outcomes = {}
    findings = []
    started = time.monotonic()
    try:
        for number in range(args.mutants):
            fixture = rng.choice(pool)
            data = fixture.read_bytes()[:MAX_FIXTURE]
            description, mutant, tail = mutate(data, rng)
            if args.only is not None and number != args.only:
                continue
            name = fixture.name
            if fixture not in baselines:
                ev, case = work / "base-ev", work / "base-case"
                shutil.rmtree(ev, ignore_errors=True)
                shutil.rmtree(case, ignore_errors=True)
                ev.mkdir()
                (ev / name).write_bytes(data)
                scan(binary, ev, case, args.time_limit)
                baselines[fixture] = facts(export(binary, case), name)
            ev, case = work / "ev", work / "case"
            shutil.rmtree(ev, ignore_errors=True)
            shutil.rmtree(case, ignore_errors=True)
            ev.mkdir()
            target = ev / name
            target.write_bytes(mutant)
            if tail:
                with open(target, "r+b") as f:
                    f.truncate(len(mutant) + tail)
            code, stderr, took = scan(binary, ev, case, args.time_limit)
            mutant_facts = facts(export(binary, case), name) if code is not None and code >= 0 else {"errors": []}
            outcome = classify(code, stderr, baselines[fixture], mutant_facts) if "mime" in mutant_facts else classify(code, stderr, baselines[fixture], {"errors": [], "mime": None, "kinds": set(), "formats": set(), "records": 0})
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome != "ok":
                rel = fixture.relative_to(ROOT)
                findings.append(f"mutant {number}: {rel}: {description}: {outcome} (exit {code}, {took:.1f} s)"
                                + (f"\n    {stderr.strip().splitlines()[-1]}" if stderr.strip() else ""))
                if args.keep:
                    keep = Path(args.keep)
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(target, keep / f"{number}-{name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(outcomes.values())
    print(f"fuzz: seed {args.seed}, {total} mutants of {len(pool)} fixtures in {time.monotonic() - started:.0f} s, "
          f"limit {args.time_limit:.0f} s each, binary {os.path.relpath(binary, ROOT)}")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:<12} {count}")
    for f in findings:
        print(f)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
