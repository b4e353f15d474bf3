"""Named, hand-tuned SQL from `sql/queries/`, read once at import.

Each file holds one statement with asyncpg's positional parameters ($1, $2, ...) and two header
lines: `-- params: a, b` names the parameters in order, so callers pass keywords and cannot mix
them up; `-- read-only: yes|no` declares whether the statement only reads, which makes it safe to
run again on a fresh connection when the first one breaks. An optional `-- plan: custom` asks
PostgreSQL to plan the statement for each call's values instead of reusing a generic plan, for
statements whose best plan depends on the values (a rare search term or a common one).
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.db.sql_files import QUERIES_DIR

_PARAMS = re.compile(r"^--\s*params:(.*)$", re.MULTILINE)
_READ_ONLY = re.compile(r"^--\s*read-only:\s*(\S*)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\$(\d+)")
_PLAN = re.compile(r"^--\s*plan:\s*(\S*)\s*$", re.MULTILINE)
_FLAGS = {"yes": True, "no": False}


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    params: tuple[str, ...]
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


def parse(name: str, text: str) -> Query:
    match = _PARAMS.search(text)
    params = tuple(p.strip() for p in match[1].split(",") if p.strip()) if match else ()
    numbers = {int(n) for n in _PLACEHOLDER.findall(text)}
    if numbers != set(range(1, len(params) + 1)):
        raise ValueError(
            f"sql/queries/{name}.sql: its header names {len(params)} parameters "
            f"but the statement uses {sorted(numbers)}"
        )
    read_only = _READ_ONLY.search(text)
    if read_only is None or read_only[1] not in _FLAGS:
        raise ValueError(f"sql/queries/{name}.sql: its header needs '-- read-only: yes' or 'no'")
    plan = _PLAN.search(text)
    if plan is not None and plan[1] != "custom":
        raise ValueError(f"sql/queries/{name}.sql: '-- plan:' can only be custom")
    return Query(
        name=name,
        sql=text,
        params=params,
        read_only=_FLAGS[read_only[1]],
        custom_plan=plan is not None,
    )


def load(name: str, directory: Path = QUERIES_DIR) -> Query:
    return parse(name, (directory / f"{name}.sql").read_text(encoding="utf-8"))


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
