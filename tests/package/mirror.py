#!/usr/bin/env python3
"""Print the URI of the first Debian archive in the host's apt configuration that serves SUITE.

Reads /etc/apt/sources.list, sources.list.d/*.list (one-line format) and *.sources (deb822),
in apt's order. Only `deb` entries whose suite is exactly SUITE count, so bookworm-security
and bookworm-updates never match. Exits 1 when there is none.
"""
import glob
import os
import sys

suite = sys.argv[1]
etc = os.environ.get("APT_ETC", "/etc/apt")


def one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.split("#", 1)[0].split()
        if len(line) < 3 or line[0] != "deb":
            continue
        # Options are "[a=b c=d]", possibly split over several words.
        opts_open = False
        rest = []
        for w in line[1:]:
            if w.startswith("["):
                opts_open = not w.endswith("]")
                continue
            if opts_open:
                opts_open = not w.endswith("]")
                continue
            rest.append(w)
        if len(rest) >= 2 and rest[1] == suite:
            yield rest[0]


def deb822(path):
    stanza = {}
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n") + [""]
    for line in lines:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                enabled = stanza.get("enabled", "yes").lower() != "no"
                if enabled and "deb" in stanza.get("types", "").split() and suite in stanza.get("suites", "").split():
                    for uri in stanza.get("uris", "").split():
                        yield uri
            stanza = {}
            continue
        if line[0] in " \t" or ":" not in line:
            continue
        k, v = line.split(":", 1)
        stanza[k.strip().lower()] = v.strip()


files = []
if os.path.exists(f"{etc}/sources.list"):
    files.append(f"{etc}/sources.list")
files += sorted(glob.glob(f"{etc}/sources.list.d/*.list") + glob.glob(f"{etc}/sources.list.d/*.sources"))
for f in files:
    for uri in (deb822(f) if f.endswith(".sources") else one_line(f)):
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit(1)
