"""`make faults`: run the fault-injection scenarios and print their table."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.conftest import CORPUS
from tests.faults import SCENARIOS
from tests.server import Server


def main() -> int:
    if not (CORPUS / "cna" / "expected.json").exists():
        print(f"the corpus is not at {CORPUS}", file=sys.stderr)
        return 2
    os.environ.setdefault("CI", "")
    rows = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp, Server() as server:
            o = scenario(server, CORPUS, Path(tmp))
        rows.append(o)
    print("| fault | expected | observed | articles lost | duplicates |")
    print("| --- | --- | --- | --- | --- |")
    for o in rows:
        print(f"| {o.fault} | {o.expected} | {o.observed} | {o.lost} | {o.duplicates} |")
    bad = [o for o in rows if o.lost or o.duplicates or not o.intact or o.observed != o.expected]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
