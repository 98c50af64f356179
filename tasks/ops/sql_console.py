"""``wirehouse sql``: user queries over the warehouse views, read-only by DuckDB's own settings.

Two layers, each enough on its own to keep the warehouse unchanged:

1. :func:`check_read_only` accepts only statements that read: ``SELECT`` (DuckDB parses ``DESCRIBE``, ``SHOW``,
   ``SUMMARIZE``, ``FROM …``, ``VALUES``, ``UNPIVOT`` as SELECT too), ``EXPLAIN [ANALYZE]`` of such a statement, and
   the introspection ``PRAGMA``\\ s in :data:`READ_ONLY_PRAGMAS`.
2. :func:`console` returns an in-memory DuckDB whose views read the Parquet files through ``wirehouse://``, a file
   system that opens files inside the warehouse's data folder for reading and nothing else, and then locks itself
   down (:func:`lock_down`): DuckDB's own local file system is switched off, so nothing anywhere can be read or
   written through it; external access is off except for the data folder; and the configuration is locked, so no
   statement can undo any of that.

Why the file system of our own: ``allowed_directories`` is an access list, not a read-only one. With only
``enable_external_access=false`` and ``allowed_directories=['<warehouse>/data/']``, DuckDB 2.0.1 still overwrites
``files.parquet`` there with ``COPY … TO``, writes with ``EXPORT DATABASE`` and creates databases with
``ATTACH … (READ_WRITE)``; ``allowed_paths`` lets ``COPY … (USE_TMP_FILE false)`` overwrite the file it allows.

Nothing here writes anywhere: not in the warehouse, not ``wirehouse.duckdb`` (which only a writer refreshes,
under the lock), not DuckDB's temporary directory.
"""

from __future__ import annotations

import duckdb

from tasks.store.lake import Warehouse, sql_literal

PROTOCOL = "wirehouse"
READ_ONLY_TYPES = frozenset({duckdb.StatementType.SELECT})
READ_ONLY_PRAGMAS = frozenset(
    {"show_tables", "show_tables_expanded", "table_info", "database_list", "version", "platform", "functions"}
)
HINT = "SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN"


class NotReadOnly(ValueError):
    """A statement that could change something: refused before it runs (the message is one line)."""


def check_read_only(query: str) -> None:
    """Accept ``query`` only if every statement in it reads.

    Raises:
        NotReadOnly: a statement is not a read-only query (or there is none).
        duckdb.ParserException: the text is not SQL.
    """
    statements = duckdb.extract_statements(query)
    if not statements:
        raise NotReadOnly("no SQL statement given")
    for statement in statements:
        refused = _refusal(statement)
        if refused:
            raise NotReadOnly(f"only read-only queries ({HINT}) are allowed: {refused} is refused")


def _refusal(statement: duckdb.Statement) -> str | None:
    """What to call the statement in the error, or None when it only reads."""
    try:
        kind = statement.type
    except ValueError:  # a type the Python client has no name for (UPDATE EXTENSIONS in 2.0.1)
        return _words(statement.query)[0][1].upper() if statement.query.strip() else "this statement"
    if kind in READ_ONLY_TYPES:
        return None
    words = _words(statement.query)
    if kind == duckdb.StatementType.PRAGMA:
        name = words[1][1].lower() if len(words) > 1 else ""
        return None if name in READ_ONLY_PRAGMAS else f"PRAGMA {name}".rstrip()
    if kind == duckdb.StatementType.EXPLAIN:
        explained = _explained(statement.query, words)
        try:
            inner = duckdb.extract_statements(explained) if explained else []
        except (duckdb.Error, ValueError):
            inner = []
        if len(inner) != 1:
            return "EXPLAIN of this statement"
        refused = _refusal(inner[0])
        return f"EXPLAIN {refused}" if refused else None
    first = words[0][1].upper() if words else kind.name
    return first if first == kind.name else f"{first} ({kind.name})"  # INSTALL is a LOAD, CHECKPOINT a CALL


def _words(query: str) -> list[tuple[int, str]]:
    """(offset, text) of each token that is not a comment."""
    tokens = duckdb.tokenize(query)
    words = []
    for n, (offset, kind) in enumerate(tokens):
        end = tokens[n + 1][0] if n + 1 < len(tokens) else len(query)
        if kind != duckdb.token_type.comment:
            words.append((offset, query[offset:end].strip()))
    return words


def _explained(query: str, words: list[tuple[int, str]]) -> str:
    """The statement after ``EXPLAIN [ANALYZE] [(options)]``."""
    rest = words[1:]
    if rest and rest[0][1].lower() in {"analyze", "analyse"}:
        rest = rest[1:]
    if rest and rest[0][1] == "(":
        depth = 0
        for n, (_, text) in enumerate(rest):
            depth += {"(": 1, ")": -1}.get(text, 0)
            if depth == 0:
                rest = rest[n + 1 :]
                break
        else:
            return ""
    return query[rest[0][0] :] if rest else ""


def lock_down(connection: duckdb.DuckDBPyConnection, allowed: list[str]) -> None:
    """DuckDB's own settings: external access only to ``allowed`` (the lake's data), then locked.

    Order matters: the lock comes last, so no statement can undo the rest.
    """
    listed = ", ".join(sql_literal(path) for path in allowed)
    connection.execute(f"SET allowed_directories = [{listed}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def console(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached read-only, for user queries: it reads the lake, nothing else."""
    connection = warehouse.connect(read_only=True)
    try:
        lock_down(connection, [warehouse.data_url])
    except BaseException:
        connection.close()
        raise
    return connection
