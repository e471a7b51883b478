"""Plain-text output shared by the commands: aligned tables, durations and counts."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import click


def units(one: str, other: str) -> dict[str, dict[str, str]]:
    """An English unit for :func:`~kernel.i18n.counted` (the commands speak English): ``counted(1, units("file", "files"))``
    is ``1 file``, ``counted(2, …)`` ``2 files``. An entity's count takes its labels, :attr:`~kernel.entities.Entity.unit`."""
    return {"en": {"one": one, "other": other}}


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows under headers in aligned columns; ``None`` shows as ``-``."""
    cells = [list(headers), *([("-" if v is None else str(v)) for v in row] for row in rows)]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(value + " " * (width - _width(value)) for value, width in zip(row, widths)).rstrip())


def duration(delta: timedelta) -> str:
    """``1d``, ``1h30m``, ``45s``: how often a job runs."""
    seconds, parts = int(delta.total_seconds()), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"

