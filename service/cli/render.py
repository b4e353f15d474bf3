"""Query results as text: an aligned table, JSON or CSV; SQL coloured for a terminal."""

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

from pygments import highlight
from pygments.formatters import TerminalFormatter
from pygments.lexers import PostgresLexer

from service.db.maintenance import Result

FORMATS = ("table", "json", "csv")
MAX_CELL = 120

_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _text(value: Any) -> str:
    """A value as text, the way PostgreSQL would print it where that is clearer than Python."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "{" + ",".join(_text(v) for v in value) + "}"
    return str(value)


def _visible(char: str) -> str:
    if char == " " or char.isprintable():
        return char
    return _ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
    )


def _cell(value: Any) -> str:
    """One line of printable text: tabs, newlines and other invisible characters escaped."""
    text = "".join(map(_visible, _text(value)))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, numbers to the right."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    numeric = [
        any(_is_number(row[i]) for row in rows)
        and all(_is_number(row[i]) or row[i] is None for row in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str], align: Sequence[bool]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, align, strict=True)
        ).rstrip()

    out = [line(columns, numeric), line(["-" * w for w in widths], numeric)]
    out.extend(line(row, numeric) for row in cells)
    return "\n".join(out)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | clock_time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def render(results: Sequence[Result], *, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {
                    "statement": r.statement,
                    "status": r.status,
                    "seconds": round(r.seconds, 3),
                    "rows": [
                        {c: _json_value(v) for c, v in zip(r.columns, row, strict=True)}
                        for row in r.rows
                    ],
                }
                for r in results
            ],
            indent=2,
            ensure_ascii=False,
        )
    if fmt == "csv":
        out = io.StringIO()
        for i, r in enumerate(results):
            if i:
                out.write("\r\n")
            writer = csv.writer(out)
            if r.columns:
                writer.writerow(r.columns)
                writer.writerows([_text(v) for v in row] for row in r.rows)
            else:
                writer.writerow(("statement", "status", "seconds"))
                writer.writerow((r.statement, r.status, f"{r.seconds:.3f}"))
        return out.getvalue().rstrip("\r\n")
    parts = []
    for r in results:
        heading = f"-- {r.statement}: {r.status} ({r.seconds:.2f}s)"
        if not r.columns:
            parts.append(heading)
        elif not r.rows:
            parts.append(f"{heading}\n(no rows)")
        else:
            rows = "row" if len(r.rows) == 1 else "rows"
            parts.append(f"{heading}\n{table(r.columns, r.rows)}\n({len(r.rows)} {rows})")
    return "\n\n".join(parts)


def colored(sql: str) -> str:
    return str(highlight(sql, PostgresLexer(), TerminalFormatter()))
