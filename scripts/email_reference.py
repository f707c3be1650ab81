#!/usr/bin/env python3
"""Reference parse of e-mail files with Python's standard `email` package, for the e-mail
tests: one line per file with From, To+Cc (sorted), Date in UTC and Message-ID.

  python3 scripts/email_reference.py tests/data/comms/email/maildir > tests/data/comms/email/maildir.tsv
"""
import email, email.policy, email.utils, os, sys
from datetime import timezone

root = sys.argv[1]
print("file\tfrom\tto_cc\tdate_utc\tmessage_id")
for dirpath, _, files in sorted(os.walk(root)):
    for f in sorted(files):
        path = os.path.join(dirpath, f)
        with open(path, "rb") as fh:
            m = email.message_from_binary_file(fh, policy=email.policy.compat32)
        addrs = lambda h: [a.lower() for _, a in email.utils.getaddresses(m.get_all(h, [])) if a]
        d = m.get("Date")
        try:
            utc = email.utils.parsedate_to_datetime(d).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if d else ""
        except Exception:
            utc = ""
        mid = (m.get("Message-ID") or "").strip().strip("<>")
        print("\t".join([os.path.relpath(path, root), ",".join(addrs("From")), ",".join(sorted(addrs("To") + addrs("Cc"))), utc, mid]))
