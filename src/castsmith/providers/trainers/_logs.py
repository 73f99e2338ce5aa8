"""Reading a trainer's progress out of its log lines (``step 120/1000``, tqdm bars)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_STEP = re.compile(r"(?:step\s*)?(\d+)\s*/\s*(\d+)", re.IGNORECASE)


def progress_from_logs(lines: Iterable[str]) -> float | None:
    """The fraction done according to the last ``n/total`` in the logs, if any."""
    for line in reversed(list(lines)):
        for match in reversed(list(_STEP.finditer(line))):
            done, total = int(match.group(1)), int(match.group(2))
            if total > 0 and done <= total:
                return done / total
    return None
