"""Named parameters in hand-written SQL, as psql writes them, compiled to asyncpg's `$n`.

The one reader of parameter references for `sql/queries/` and `sql/maintenance/`:

    :name      a value (the query files' form)
    :'name'    a value, quoted as psql quotes it (the maintenance scripts' form, so a script
               also runs under `psql -v name=... -f`)
    :"name"    an identifier (maintenance scripts only; PostgreSQL cannot bind those)

A reference is found only in SQL proper: never inside a string literal ('...', E'...',
$tag$...$tag$), a quoted identifier, a `--` or `/* */` comment, nor in a `::type` cast. A
positional `$n` is reported too, so a loader can refuse it: a name is what callers bind.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Form = Literal["bare", "quoted", "identifier", "positional"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"""'([A-Za-z_][A-Za-z0-9_]*)'|"([A-Za-z_][A-Za-z0-9_]*)\"""")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_POSITIONAL = re.compile(r"\$(\d+)")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_$]")


@dataclass(frozen=True)
class Ref:
    """One parameter reference: where it is (offsets and 1-based line) and what it names."""

    name: str
    form: Form
    start: int
    end: int
    line: int


def _skip_string(text: str, i: int, backslashes: bool) -> int:
    """The offset after the literal whose opening quote is at i ('' is a quote inside it)."""
    j = i + 1
    while j < len(text):
        if backslashes and text[j] == "\\":
            j += 2
            continue
        if text[j] == "'":
            if text.startswith("''", j):
                j += 2
                continue
            return j + 1
        j += 1
    return len(text)


def _skip_block_comment(text: str, i: int) -> int:
    depth, j = 0, i
    while j < len(text):
        if text.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return len(text)


def scan(text: str) -> list[Ref]:
    """Every parameter reference in `text`, in order."""
    refs: list[Ref] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        elif ch == "'":
            i = _skip_string(text, i, backslashes=False)
        elif ch == '"':
            end = text.find('"', i + 1)
            while end >= 0 and text.startswith('""', end):
                end = text.find('"', end + 2)
            i = n if end < 0 else end + 1
        elif ch == "$" and not _word_before(text, i):
            if tag := _DOLLAR_TAG.match(text, i):
                end = text.find(tag[0], tag.end())
                i = n if end < 0 else end + len(tag[0])
            elif positional := _POSITIONAL.match(text, i):
                refs.append(_ref(text, positional[1], "positional", i, positional.end()))
                i = positional.end()
            else:
                i += 1
        elif ch == ":":
            if text.startswith("::", i):
                i += 2
                while i < n and text[i] == ":":  # never a parameter after a run of colons
                    i += 1
            elif name := _NAME.match(text, i + 1):
                refs.append(_ref(text, name[0], "bare", i, name.end()))
                i = name.end()
            elif quoted := _QUOTED.match(text, i + 1):
                form: Form = "quoted" if quoted[1] else "identifier"
                refs.append(_ref(text, quoted[1] or quoted[2], form, i, quoted.end()))
                i = quoted.end()
            else:
                i += 1
        elif _WORD_CHAR.match(ch):
            # A whole word at once, so the `$` and `e'` inside one (a$1, some'...) are never
            # taken for a parameter or a string prefix.
            j = i
            while j < n and _WORD_CHAR.match(text[j]):
                j += 1
            if j < n and text[j] == "'" and text[j - 1] in "eE" and j - i == 1:
                i = _skip_string(text, j, backslashes=True)
            else:
                i = j
        else:
            i += 1
    return refs


def _word_before(text: str, i: int) -> bool:
    return i > 0 and bool(_WORD_CHAR.match(text[i - 1]))


def _ref(text: str, name: str, form: Form, start: int, end: int) -> Ref:
    return Ref(name=name, form=form, start=start, end=end, line=text.count("\n", 0, start) + 1)


def substitute(text: str, refs: Iterable[Ref], replace: Callable[[Ref], str]) -> str:
    """`text` with each of `refs` (from scan(text)) replaced by what `replace` returns for it."""
    pieces: list[str] = []
    at = 0
    for ref in refs:
        pieces += [text[at : ref.start], replace(ref)]
        at = ref.end
    pieces.append(text[at:])
    return "".join(pieces)


def number(text: str, refs: Iterable[Ref]) -> tuple[str, tuple[str, ...]]:
    """`text` with the value references among `refs` as `$n`, numbered by first appearance
    (the same name is the same `$n` every time), and the names in that order."""
    values = [ref for ref in refs if ref.form in ("bare", "quoted")]
    names = tuple(dict.fromkeys(ref.name for ref in values))
    numbers = {name: i for i, name in enumerate(names, start=1)}
    return substitute(text, values, lambda ref: f"${numbers[ref.name]}"), names


def substitute_identifiers(text: str, chosen: Mapping[str, str]) -> str:
    """`text` with each `:"name"` replaced by chosen[name], an identifier quoted by the caller."""
    refs = [ref for ref in scan(text) if ref.form == "identifier"]
    return substitute(text, refs, lambda ref: chosen[ref.name])
