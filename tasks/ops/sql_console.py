"""``wirehouse sql``: user queries over the warehouse views, read-only by DuckDB's own settings.

Two layers, each enough on its own to keep the warehouse unchanged:

1. :func:`check_read_only` accepts only statements that read: ``SELECT`` (DuckDB parses ``DESCRIBE``, ``SHOW``,
   ``SUMMARIZE``, ``FROM …``, ``VALUES``, ``UNPIVOT`` as SELECT too), ``EXPLAIN [ANALYZE]`` of such a statement, and
   the introspection ``PRAGMA``\\ s in :data:`READ_ONLY_PRAGMAS`.
2. :func:`console` returns an in-memory DuckDB with the lake attached ``READ_ONLY`` (no INSERT, DELETE, DDL or
   DuckLake maintenance call goes through) whose data files are read through ``wirehouse://``, a file system that
   opens files inside the lake's data folder for reading and nothing else, and then locks itself down
   (:func:`lock_down`): DuckDB's own local file system is switched off, so nothing anywhere can be read or written
   through it; external access is off except for the data folder; and the configuration is locked, so no
   statement can undo any of that.

   One hole the settings leave, closed by layer 1 alone: the SQLite extension (loaded for the catalog) opens
   files itself, not through DuckDB's file systems, so ``ATTACH '…' (TYPE sqlite)`` is not stopped by them.

Why the file system of our own: ``allowed_directories`` is an access list, not a read-only one. With only
``enable_external_access=false`` and ``allowed_directories=['<warehouse>/data/']``, DuckDB still overwrites
``files.parquet`` there with ``COPY … TO``, writes with ``EXPORT DATABASE`` and creates databases with
``ATTACH … (READ_WRITE)``; ``allowed_paths`` lets ``COPY … (USE_TMP_FILE false)`` overwrite the file it allows.

Nothing here writes anywhere: not in the warehouse, not its catalog, not DuckDB's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

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
    named = kind.name.isidentifier()  # duckdb 1.5 calls UPDATE EXTENSIONS "???"
    return first if first == kind.name or not named else f"{first} ({kind.name})"  # INSTALL is a LOAD


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


class WarehouseFiles(AbstractFileSystem):  # type: ignore[misc]  # fsspec ships no type hints
    """``wirehouse://<absolute path>``: files under one folder, opened for reading; anything else is refused.

    Paths are resolved (``..``, symbolic links) before the check, so nothing outside the folder is reachable even
    through a link inside it.
    """

    protocol = (PROTOCOL,)
    cachable = False  # one instance per warehouse, never shared through fsspec's instance cache

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = os.path.realpath(root)
        self._local = LocalFileSystem()

    def _inside(self, path: str) -> str:
        local: str = self._strip_protocol(path)
        real = os.path.realpath(local)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise PermissionError(f"outside the warehouse data folder: {path}")
        return local

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        return self._local.ls(self._inside(path), detail=detail)

    def info(self, path: str, **kwargs: Any) -> Any:
        return self._local.info(self._inside(path))

    def modified(self, path: str) -> Any:
        return self._local.modified(self._inside(path))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode != "rb":
            raise PermissionError(f"the warehouse is read-only here (mode {mode!r}): {path}")
        return self._local._open(self._inside(path), mode="rb")

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("the warehouse is read-only here")

    mkdir = makedirs = rmdir = rm = rm_file = _rm = mv = cp_file = copy = put_file = pipe_file = touch = _refuse


def lock_down(connection: duckdb.DuckDBPyConnection, data: str) -> None:
    """DuckDB's own settings: no local file system, external access only to ``data`` (``wirehouse://…``), locked.

    Order matters: external access goes off while the local file system is still on (DuckDB checks its
    temporary directory then), and the lock comes last, so no statement can undo the rest.
    """
    connection.execute(f"SET allowed_directories = [{sql_literal(data)}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET disabled_filesystems = 'LocalFileSystem'")
    connection.execute("SET lock_configuration = true")


def console(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached read-only, its data files read through ``wirehouse://``.

    For a lake whose data is on object storage the file system is DuckDB's httpfs (the lake is attached
    read-only, and local files stay off limits the same way).
    """
    local = warehouse.local_data
    if local is None:
        connection = warehouse.connect(read_only=True)
        data = warehouse.data_url
    else:
        data = f"{PROTOCOL}://{local.as_posix()}/"
        connection = warehouse.connect(read_only=True, data_url=data, filesystem=WarehouseFiles(local))
    try:
        lock_down(connection, data)
    except BaseException:
        connection.close()
        raise
    return connection
