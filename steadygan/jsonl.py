"""Reading a run's JSON-lines files (metrics.jsonl, diagnoses.jsonl) the way a killed or damaged
run leaves them: a line cut short, bytes that are not UTF-8, a value that is not a record."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def read_jsonl(path: Path, number_key: str | None = None
               ) -> tuple[list[Record], list[int], int]:
    """The JSON objects of a JSON-lines file, the (1-based) numbers of the lines it skipped,
    and the number of lines. With `number_key` (metrics.jsonl's "step"), an object without a
    number there is skipped too: every reader of the file orders and compares by it."""
    records, bad = [], []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)  # reads NaN / Infinity, as a failing run writes them
        except json.JSONDecodeError:
            bad.append(line_no)
            continue
        if isinstance(value, dict) and (number_key is None or _is_number(value.get(number_key))):
            records.append(value)
        else:
            bad.append(line_no)
    return records, bad, len(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
