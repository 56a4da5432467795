"""The schema can be distributed by project on Citus, as the README's "Deployment and scale-out" says: read
from the live schema after every migration, each project-scoped table's primary key and unique indexes
start with ``project_id`` (Citus distributes a table by one column, and a unique index that does not hold
it cannot be enforced across nodes), its foreign keys stay within one project (both sides led by
``project_id``, or pointing at a global table), and the README's Citus statements are the ones this
module derives from the same schema and the allow-list below."""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from typing import Literal, NamedTuple

import asyncpg

from tests.readme import README


class GlobalTable(NamedTuple):
    """A table that belongs to no project, and where it lives on a Citus cluster."""

    #: "reference": copied to every node, so statements on project data on any node may join it or
    #: reference it by foreign key. "local": a plain table on the coordinator, used only there.
    placement: Literal["reference", "local"]
    reason: str


GLOBAL_TABLES: dict[str, GlobalTable] = {
    "herald_migrations": GlobalTable(
        "local",
        "the migration files applied, read and written only by the kernel that applies them",
    ),
    "projects": GlobalTable(
        "reference",
        "the tenants themselves: project-scoped tables reference its row by foreign key, and statements on "
        "project data join it",
    ),
    "api_keys": GlobalTable(
        "reference",
        "a call's key is resolved to its project before any project is known, so the key's hash is "
        "unique on its own (api_keys_secret); a few rows per project, rarely written",
    ),
    "address_kind_keys": GlobalTable(
        "reference",
        "how each address kind is compared, one rule for every project, read inside statements on "
        "project data (suppression and dedup keys)",
    ),
    "workers": GlobalTable(
        "reference",
        "the sender workers' heartbeats: a worker serves every project",
    ),
}

#: Project-scoped tables without a primary key, each with the reason it needs none.
UNKEYED_TABLES: dict[str, str] = {
    "message_log": "append-only, partitioned by day: rows are never updated, so logical replication has "
    "no update to replay (Citus moves its shards with shard_transfer_mode => 'block_writes'), and a key "
    "would cost an index insert per message sent",
}

_TABLES = """SELECT c.oid, c.relname AS name
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"""

# Every primary key and unique index, with the text of its leading key (a column's name, or an
# expression), however it was created (constraint or index).
_UNIQUE_INDEXES = f"""SELECT t.name AS table, i.indexrelid::regclass::text AS index,
                             i.indisprimary AS primary, pg_get_indexdef(i.indexrelid, 1, true) AS leading
                      FROM pg_index i JOIN ({_TABLES}) t ON t.oid = i.indrelid
                      WHERE i.indisunique"""

_FOREIGN_KEYS = f"""SELECT k.conname AS name, t.name AS table, k.confrelid::regclass::text AS referenced,
                           (SELECT attname FROM pg_attribute
                            WHERE attrelid = k.conrelid AND attnum = k.conkey[1]) AS leading,
                           (SELECT attname FROM pg_attribute
                            WHERE attrelid = k.confrelid AND attnum = k.confkey[1]) AS referenced_leading
                    FROM pg_constraint k JOIN ({_TABLES}) t ON t.oid = k.conrelid
                    WHERE k.contype = 'f'"""


async def table_names(db: asyncpg.Pool) -> set[str]:
    return {row["name"] for row in await db.fetch(_TABLES)}


async def test_every_project_scoped_key_starts_with_project_id(server, db: asyncpg.Pool) -> None:
    indexes = await db.fetch(_UNIQUE_INDEXES)
    scoped = [row for row in indexes if row["table"] not in GLOBAL_TABLES]
    assert scoped
    violations = {row["index"]: row["leading"] for row in scoped if row["leading"] != "project_id"}
    assert violations == {}, "a project-scoped table's unique index must start with project_id"
    # Citus moves shards between nodes by logical replication, which needs a key to replay updates.
    keyed = {row["table"] for row in scoped if row["primary"]}
    assert (await table_names(db)) - set(GLOBAL_TABLES) - keyed == set(UNKEYED_TABLES)


async def test_the_allow_lists_name_what_the_schema_holds(server, db: asyncpg.Pool) -> None:
    # A table dropped or renamed leaves no stale exception behind.
    assert set(GLOBAL_TABLES) | set(UNKEYED_TABLES) <= await table_names(db)


async def test_foreign_keys_stay_within_a_project(server, db: asyncpg.Pool) -> None:
    # Citus enforces a foreign key between two distributed tables only on the distribution column, and
    # never lets a table copied to every node reference one spread over them.
    violations = [
        row["name"]
        for row in await db.fetch(_FOREIGN_KEYS)
        if row["referenced"] not in GLOBAL_TABLES
        and (
            row["table"] in GLOBAL_TABLES
            or (row["leading"], row["referenced_leading"]) != ("project_id", "project_id")
        )
    ]
    assert violations == []


def citus_statements(tables: set[str], references: list[tuple[str, str]]) -> str:
    """The statements distributing Herald's tables, in an order Citus accepts (a table after the tables
    its foreign keys reference, reference tables first), each global table's reason above it."""
    graph = TopologicalSorter({table: set() for table in tables})
    for table, referenced in references:
        if table != referenced:
            graph.add(table, referenced)
    graph.prepare()
    ordered: list[str] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        ordered.extend(ready)
        graph.done(*ready)
    lines = [
        f"-- {table} stays a plain table on the coordinator: {reason}."
        for table, (placement, reason) in sorted(GLOBAL_TABLES.items())
        if placement == "local"
    ]
    for table in ordered:
        if table in GLOBAL_TABLES and GLOBAL_TABLES[table].placement == "reference":
            lines.append(f"-- {table}: {GLOBAL_TABLES[table].reason}.")
            lines.append(f"SELECT create_reference_table('{table}');")
    lines.extend(
        f"SELECT create_distributed_table('{table}', 'project_id');"
        for table in ordered
        if table not in GLOBAL_TABLES
    )
    return "\n".join(lines)


async def test_readme_lists_the_citus_statements_of_the_live_schema(server, db: asyncpg.Pool) -> None:
    references = [(row["table"], row["referenced"]) for row in await db.fetch(_FOREIGN_KEYS)]
    expected = citus_statements(await table_names(db), references)
    found = re.search(
        r"<!-- citus:start -->\n```sql\n(.*?)\n```\n<!-- citus:end -->", README.read_text(), re.S
    )
    assert found, "README.md has no <!-- citus:start --> block"
    assert found[1] == expected, f"the README's Citus statements should read:\n{expected}"
