"""Result rows read for comparison: the benchmarks and the tests check two runs' rows equal this way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Provenance fields that differ between any two runs of the same rows (timing, cache, clock).
VOLATILE = frozenset({"latency_s", "cached", "created_at"})


def comparable(path: Path) -> list[dict[str, Any]]:
    """A result file's rows sorted by id, without the provenance fields no two runs share."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if "summary" in row:
            row["summary"]["provenance"] = {k: v for k, v in row["summary"]["provenance"].items() if k not in VOLATILE}
    return sorted(rows, key=lambda r: str(r["id"]))
