"""Named, hand-tuned SQL from `sql/queries/`, compiled once at import.

Each file holds one statement. Its parameters are named where they are used (`:reader_id`,
read by service.db.sql_params as the maintenance scripts' are) and compiled to asyncpg's `$1`,
`$2`... in order of first use, so callers pass keywords and cannot mix them up. Header lines:
`-- read-only: yes|no` (required) declares whether the statement only reads, which makes it safe
to run again on a fresh connection when the first one breaks; `-- plan: custom` asks PostgreSQL
to plan the statement for each call's values instead of reusing a generic plan, for statements
whose best plan depends on the values (a rare search term or a common one).

A line `-- include: NAME` is replaced by `sql/queries/_parts/NAME.sql` (without its opening
comment lines, indented as the include line is), so a piece several statements share is written
once. A part's parameters are the including file's, by the same name, unless the line binds them
otherwise: `-- include: NAME with a = :b, c = NULL` (a parameter or a literal). Parts may include
parts. `python -m service sql render NAME` prints a statement exactly as it runs.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.db import sql_params
from service.db.sql_files import QUERIES_DIR

PARTS = "_parts"

_READ_ONLY = re.compile(r"^--\s*read-only:\s*(\S*)\s*$", re.MULTILINE)
_PLAN = re.compile(r"^--\s*plan:\s*(\S*)\s*$", re.MULTILINE)
_HEADER = re.compile(r"^--\s*(read-only|plan|params):", re.MULTILINE)
_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)--\s*include:(?P<rest>.*)$")
_INCLUDE_REST = re.compile(r"^\s*(?P<part>[a-z][a-z0-9_]*)(?:\s+with\s+(?P<bindings>.*?))?\s*$")
_BINDING = re.compile(
    r"^\s*(?P<name>[a-z_][a-z0-9_]*)\s*=\s*"
    r"(?P<value>:[a-z_][a-z0-9_]*|NULL|true|false|-?\d+|'[^']*')\s*$"
)
_FLAGS = {"yes": True, "no": False}


class QueryFileError(ValueError):
    """A query file or part the loader refuses: the message names the file and line."""


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    """The statement as it runs: includes expanded, parameters as $n."""
    params: tuple[str, ...]
    """The parameters' names, in the order of their $n."""
    read_only: bool
    """Declared by the file: the statement only reads, so running it twice is harmless."""
    custom_plan: bool = False
    """Declared by the file: plan it for each call's values."""

    def args(self, values: dict[str, Any]) -> list[Any]:
        try:
            if len(values) == len(self.params):
                return [values[name] for name in self.params]
        except KeyError:
            pass
        raise TypeError(
            f"query {self.name} takes {', '.join(self.params) or 'no parameters'}; "
            f"got {', '.join(sorted(values)) or 'none'}"
        )


def _where(path: str, line: int) -> str:
    return f"{path}:{line}"


def _check_refs(path: str, text: str) -> None:
    for ref in sql_params.scan(text):
        where = _where(path, ref.line)
        if ref.form == "positional":
            raise QueryFileError(
                f"{where}: ${ref.name} is never bound: callers pass names, so write :name"
            )
        if ref.form != "bare":
            raise QueryFileError(f"{where}: write the parameter {ref.name} as :{ref.name}")


def _body(text: str) -> tuple[str, int]:
    """A part's text without its opening comment lines (what it is for, not what runs), and
    the line number it starts at in the file."""
    lines = text.rstrip("\n").splitlines()
    skipped = 0
    while skipped < len(lines) and (
        not lines[skipped].strip() or lines[skipped].lstrip().startswith("--")
    ):
        skipped += 1
    return "\n".join(lines[skipped:]), skipped + 1


def _bindings(where: str, part: str, text: str | None) -> dict[str, str]:
    bindings: dict[str, str] = {}
    for item in (text or "").split(",") if text else []:
        match = _BINDING.match(item)
        if match is None:
            raise QueryFileError(
                f"{where}: bad binding {item.strip()!r} in the include of {part}: "
                "write NAME = :parameter (or a literal: NULL, true, false, a number, 'text')"
            )
        if match["name"] in bindings:
            raise QueryFileError(f"{where}: the include of {part} binds {match['name']} twice")
        bindings[match["name"]] = match["value"]
    return bindings


def _bind(where: str, part: str, body: str, bindings: dict[str, str]) -> str:
    """The part's text with the parameters its include line binds replaced by what they bind."""
    refs = sql_params.scan(body)
    used = {ref.name for ref in refs}
    unused = [name for name in bindings if name not in used]
    if unused:
        raise QueryFileError(
            f"{where}: unused parameter: the include binds {unused[0]}, which {part} never uses"
        )
    return sql_params.substitute(
        body, [ref for ref in refs if ref.name in bindings], lambda ref: bindings[ref.name]
    )


def _expand(
    path: str, text: str, parts: Path, including: tuple[str, ...], first_line: int = 1
) -> str:
    """`text` with every include line replaced by its part, parameters still by name."""
    out: list[str] = []
    for number, line in enumerate(text.splitlines(), start=first_line):
        include = _INCLUDE.match(line)
        if include is None:
            out.append(line)
            continue
        where = _where(path, number)
        rest = _INCLUDE_REST.match(include["rest"])
        if rest is None:
            raise QueryFileError(f"{where}: write '-- include: NAME' (a file in {PARTS}/)")
        part = rest["part"]
        part_path = parts / f"{part}.sql"
        if not part_path.is_file():
            known = ", ".join(sorted(p.stem for p in parts.glob("*.sql"))) or "none"
            raise QueryFileError(
                f"{where}: unknown include {part!r}: no {PARTS}/{part}.sql (there are: {known})"
            )
        if part in including:
            raise QueryFileError(f"{where}: {part} includes itself ({' -> '.join(including)})")
        bindings = _bindings(where, part, rest["bindings"])
        part_name = f"sql/queries/{PARTS}/{part}.sql"
        raw = part_path.read_text(encoding="utf-8")
        if header := _HEADER.search(raw):
            line_number = raw.count("\n", 0, header.start()) + 1
            raise QueryFileError(
                f"{_where(part_name, line_number)}: a part has no header lines: the query "
                "files that include it declare them"
            )
        _check_refs(part_name, raw)
        body, body_line = _body(raw)
        body = _expand(part_name, body, parts, (*including, part), body_line)
        bound = _bind(where, part, body, bindings)
        out += [include["indent"] + piece if piece else piece for piece in bound.splitlines()]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def parse(name: str, text: str, parts: Path = QUERIES_DIR / PARTS) -> Query:
    path = f"sql/queries/{name}.sql"
    if match := re.search(r"^--\s*params:", text, re.MULTILINE):
        line = text.count("\n", 0, match.start()) + 1
        raise QueryFileError(
            f"{_where(path, line)}: '-- params:' is gone: name each parameter where it is "
            "used (:name)"
        )
    read_only = _READ_ONLY.search(text)
    if read_only is None or read_only[1] not in _FLAGS:
        raise QueryFileError(f"{path}: its header needs '-- read-only: yes' or 'no'")
    plan = _PLAN.search(text)
    if plan is not None and plan[1] != "custom":
        raise QueryFileError(f"{path}: '-- plan:' can only be custom")
    _check_refs(path, text)
    expanded = _expand(path, text, parts, ())
    sql, params = sql_params.number(expanded, sql_params.scan(expanded))
    return Query(
        name=name,
        sql=sql,
        params=params,
        read_only=_FLAGS[read_only[1]],
        custom_plan=plan is not None,
    )


def load(name: str, directory: Path = QUERIES_DIR) -> Query:
    text = (directory / f"{name}.sql").read_text(encoding="utf-8")
    return parse(name, text, directory / PARTS)


def load_all(directory: Path = QUERIES_DIR) -> dict[str, Query]:
    return {path.stem: load(path.stem, directory) for path in sorted(directory.glob("*.sql"))}


BLOG_DETAIL = load("blog_detail")
BLOG_BY_SLUG = load("blog_by_slug")
BLOG_CREATE = load("blog_create")
BLOGS_PAGE = load("blogs_page")
BLOGS_PAGE_BY_AUTHOR = load("blogs_page_by_author")
BLOGS_SEARCH = load("blogs_search")
BLOGS_SEARCH_BY_AUTHOR = load("blogs_search_by_author")
BLOGS_PAGE_BY_TAG = load("blogs_page_by_tag")
BLOGS_FEED = load("blogs_feed")
ARTICLES_PAGE = load("articles_page")
ARTICLES_PAGE_BY_AUTHOR = load("articles_page_by_author")
ARTICLES_PAGE_BY_FAVORITED = load("articles_page_by_favorited")
ARTICLES_PAGE_BY_TAG = load("articles_page_by_tag")
ARTICLES_FEED = load("articles_feed")
FAVORITE_ADD = load("favorite_add")
FAVORITE_REMOVE = load("favorite_remove")
TAGS_TOP = load("tags_top")
USERS_PAGE = load("users_page")
USER_PROFILE = load("user_profile")
USER_PROFILE_BY_USERNAME = load("user_profile_by_username")
FOLLOW = load("follow")
UNFOLLOW = load("unfollow")
BLOG_UPDATE = load("blog_update")
BLOG_DELETE = load("blog_delete")
COMMENT_CREATE = load("comment_create")
COMMENTS_PAGE = load("comments_page")
COMMENT_DELETE = load("comment_delete")
RATE_LIMIT_HIT = load("rate_limit_hit")
RATE_LIMIT_FORGIVE = load("rate_limit_forgive")
RATE_LIMIT_SWEEP = load("rate_limit_sweep")
