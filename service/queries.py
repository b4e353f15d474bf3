"""Named, hand-tuned SQL from `sql/queries/`, read once at import.

Each file holds one statement with asyncpg's positional parameters ($1, $2, ...) and a header line
`-- params: a, b` naming them in order, so callers pass keywords and cannot mix them up.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.settings import PROJECT_ROOT

QUERIES_DIR = PROJECT_ROOT / "sql" / "queries"

_PARAMS = re.compile(r"^--\s*params:(.*)$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\$(\d+)")


_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    params: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        """Whether the statement only reads, so running it twice is harmless."""
        return _WRITES.search(self.sql) is None

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


def parse(name: str, text: str) -> Query:
    match = _PARAMS.search(text)
    params = tuple(p.strip() for p in match[1].split(",") if p.strip()) if match else ()
    numbers = {int(n) for n in _PLACEHOLDER.findall(text)}
    if numbers != set(range(1, len(params) + 1)):
        raise ValueError(
            f"sql/queries/{name}.sql: its header names {len(params)} parameters "
            f"but the statement uses {sorted(numbers)}"
        )
    return Query(name=name, sql=text, params=params)


def load(name: str, directory: Path = QUERIES_DIR) -> Query:
    return parse(name, (directory / f"{name}.sql").read_text(encoding="utf-8"))


def load_all(directory: Path = QUERIES_DIR) -> dict[str, Query]:
    return {path.stem: load(path.stem, directory) for path in sorted(directory.glob("*.sql"))}


BLOG_DETAIL = load("blog_detail")
BLOGS_PAGE = load("blogs_page")
BLOGS_PAGE_BY_AUTHOR = load("blogs_page_by_author")
USERS_PAGE = load("users_page")
BLOG_UPDATE = load("blog_update")
BLOG_DELETE = load("blog_delete")
