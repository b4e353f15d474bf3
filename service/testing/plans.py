"""A statement's plan as it really runs (a prepared statement, custom or generic), and what in
it grows with the size of a table: a sequential scan of it, or a sort over it."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import asyncpg

BOUNDED_READS: Mapping[str, str] = {"blog_tags": "(blog_id = "}
"""Reads of these tables that are few rows whatever the table's size, keyed by table, with the
index condition that bounds them: one blog's tags (at most MAX_TAGS), found by the blog's id."""


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def _reads_unbounded(node: dict[str, Any], table: str, bounded: Mapping[str, str]) -> bool:
    if node.get("Relation Name") != table:
        return False
    bound = bounded.get(table)
    return bound is None or bound not in node.get("Index Cond", "")


def _reaches_unlimited(node: dict[str, Any], table: str, bounded: Mapping[str, str]) -> bool:
    return any(
        _reads_unbounded(child, table, bounded)
        or (child["Node Type"] != "Limit" and _reaches_unlimited(child, table, bounded))
        for child in node.get("Plans", [])
    )


def plan_problems(
    plan: dict[str, Any], tables: set[str], *, bounded: Mapping[str, str] = BOUNDED_READS
) -> list[str]:
    """What in a plan grows with the size of `tables`: a sequential scan of one, or a sort whose
    input reads one other than through a LIMIT (sorting the newest few blogs of each followed
    author is bounded; sorting the blogs themselves is not). `bounded` names reads that stay
    small whatever the table's size (see BOUNDED_READS). An empty list is a plan that scales."""
    problems = []
    for node in plan_nodes(plan):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables:
            problems.append(f"sequential scan of {node['Relation Name']}")
        if node["Node Type"] in {"Sort", "Incremental Sort"}:
            problems += [
                f"sort over {t}" for t in sorted(tables) if _reaches_unlimited(node, t, bounded)
            ]
    return problems


async def prepared_plan(
    conn: asyncpg.Connection, sql: str, args: list[Any], *, name: str
) -> dict[str, Any]:
    """The plan of `sql` as a server-side prepared statement `name`, planned the way the
    session's plan_cache_mode says (EXPLAIN of the bare statement would always plan for the
    given values). Set `plan_cache_mode = force_generic_plan` first to see the plan PostgreSQL
    may switch to after a few executions."""
    await conn.execute(f"PREPARE {name} AS {sql}")
    types = (await conn.prepare(sql)).get_parameters()
    literals = []
    for type_, value in zip(types, args, strict=True):
        type_name = await conn.fetchval("SELECT format_type($1, NULL)", type_.oid)
        literals.append(await conn.fetchval(f"SELECT quote_nullable($1::{type_name})", value))
    explained = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({', '.join(literals)})")
    plan: dict[str, Any] = json.loads(explained)[0]["Plan"]
    return plan
