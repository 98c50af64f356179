"""``wirehouse sql``: user queries over the warehouse views, read-only by construction.

Two layers, the first enough on its own, the second enough for everything DuckDB's own file systems reach:

1. :func:`check_read_only` walks DuckDB's own parse tree of the query and accepts only what it knows to read.
   The tree comes from ``SELECT json_serialize_sql(?)`` run on the console connection *after* it is locked down,
   so even the parser (which expands ``IMPORT DATABASE '<dir>'`` by reading that folder) sees nothing it could
   open. ``json_serialize_sql`` serializes SELECT statements only (DuckDB parses ``DESCRIBE``, ``SHOW``,
   ``SUMMARIZE``, ``FROM …``, ``VALUES`` and ``PIVOT`` clauses as SELECT); anything else comes back as an error and
   is refused. In the tree, every

   * table reference must name one of the lake's own tables or views (catalog/schema empty, ``lake`` or
     ``lake.main``), DuckDB's ``information_schema`` views, or a CTE in scope; a quoted file name (a replacement
     scan) is none of those;
   * table function must be in :data:`TABLE_FUNCTIONS`: a small set that computes rows or reads the catalog's
     metadata. ``sqlite_scan``, ``postgres_execute``, ``read_*``, ``query``, the DuckLake maintenance calls, and
     any function an extension adds tomorrow, are refused because they are not on it;
   * scalar, aggregate or window function must be one of DuckDB's core functions (those a bare ``duckdb`` has, no
     extension loaded) that DuckDB itself marks as free of side effects (a macro: whose body calls only such
     functions), or one of :data:`VOLATILE_VALUES`. ``nextval``, ``write_log``, ``sleep_ms`` and every function an
     extension adds (``postgres_hstore_get``…) are not.

   ``EXPLAIN [ANALYZE] <select>`` runs as ``EXPLAIN`` of the checked SELECT; the introspection ``PRAGMA``\\ s in
   :data:`PRAGMAS` run as the SELECT they stand for, checked the same way. An allowlist, not a list of statement
   kinds or functions to refuse: what the check does not know is refused, with one line naming it.

2. :func:`console` returns an in-memory DuckDB with the lake attached ``READ_ONLY`` whose data files are read
   through ``wirehouse://``, a file system that opens files inside the lake's data folder (local or on S3) for
   reading and nothing else, and then locks itself down (:func:`lock_down`): DuckDB's own local, S3 and HTTP file
   systems are switched off, external access is off except for the data folder, nothing spills to a temporary
   directory, Python objects are not scanned, and the configuration is locked, so no statement can undo that.
   The extensions that open files or servers themselves (SQLite, PostgreSQL) are beyond these settings: layer 1
   alone stops them.

Why the file system of our own: ``allowed_directories`` is an access list, not a read-only one, and it compares
strings. With only ``enable_external_access=false`` and ``allowed_directories=['<warehouse>/data/']``, DuckDB still
overwrites ``files.parquet`` there with ``COPY … TO``, writes with ``EXPORT DATABASE``, creates databases with
``ATTACH … (READ_WRITE)``, and DuckLake maintenance writes Parquet objects into the bucket before the read-only
catalog refuses. :class:`WarehouseFiles` decodes and normalises a path (resolving links for local data) and
compares path components, so ``..``, ``%2e%2e``, a link pointing out, ``prefix-other/`` or another bucket stay out.

:func:`run` runs a checked query with a time limit (``connection.interrupt()`` from a timer) and sorts DuckDB's
errors into the query's own problems (:class:`NotReadOnly`, :class:`BadQuery`) and the storage's
(:class:`ConsoleFailed`), each one line without stack frames. Nothing here writes anywhere.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from tasks.store.lake import LAKE, READER_MEMORY, Warehouse, sql_literal

PROTOCOL = "wirehouse"
HINT = "SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN"

# Table functions a query may call: they compute rows, or read DuckDB's or the lake catalog's metadata. None reads
# a file, a server or a database other than those attached, and none writes.
TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_databases",
        "duckdb_types",
        "duckdb_keywords",
        "pragma_table_info",
        "pragma_version",
        "pragma_platform",
        "ducklake_snapshots",
        "ducklake_table_info",
        "ducklake_list_files",
        "ducklake_current_snapshot",
        "ducklake_last_committed_snapshot",
        "ducklake_table_insertions",
        "ducklake_table_deletions",
        "ducklake_table_changes",
    }
)
# Core functions DuckDB marks as having side effects that only produce a value (random numbers, ids) or an error.
VOLATILE_VALUES = frozenset({"random", "uuid", "uuidv4", "uuidv7", "gen_random_uuid", "error"})
# Functions the binder knows that duckdb_functions() does not list: window-only ones, and special forms.
WINDOW_FUNCTIONS = frozenset(
    {"row_number", "rank", "dense_rank", "rank_dense", "percent_rank", "cume_dist", "ntile", "lag", "lead"}
    | {"first_value", "last_value", "nth_value", "first", "last"}
    | {"unnest", "grouping", "grouping_id"}
)
# PRAGMA name → the SELECT it stands for ({args}: the text between its parentheses, checked with the rest).
PRAGMAS = {
    "show_tables": "SHOW TABLES",
    "show_tables_expanded": "SHOW ALL TABLES",
    "show_databases": "SHOW DATABASES",
    "table_info": "SELECT * FROM pragma_table_info({args})",
    "version": "SELECT * FROM pragma_version()",
    "platform": "SELECT * FROM pragma_platform()",
}
# SHOW without a query: these lists only (SHOW TABLES, SHOW ALL TABLES, SHOW DATABASES).
SHOW_LISTS = frozenset({'"tables"', "__show_tables_expanded", '"databases"'})
FUNCTION_SCOPES = frozenset({("", ""), ("", "main"), ("system", "main")})  # `[1, 2]` is main.list_value(1, 2)
LAKE_SCOPES = frozenset({("", ""), ("", "main"), ("", LAKE), (LAKE, ""), (LAKE, "main")})


class NotReadOnly(ValueError):
    """A statement the console does not run: refused before it runs (the message is one line). Exit 2."""


class BadQuery(ValueError):
    """The query's own problem: a syntax error, an unknown column, a bad cast. Exit 2."""


class ConsoleFailed(RuntimeError):
    """The storage or DuckDB could not answer: a missing data file, I/O, memory, the time limit. Exit 1."""


# -- layer 1: the check -------------------------------------------------------------------------------------------


def check_read_only(connection: duckdb.DuckDBPyConnection, query: str) -> str:
    """The SQL to run for ``query`` on ``connection`` (a :func:`console`), if every statement in it only reads.

    Returns ``query`` itself, or for ``EXPLAIN``/``PRAGMA`` the statement built from its checked SELECT.

    Raises:
        NotReadOnly: a statement, table or function is not on the allowlist (or there is no statement).
        BadQuery: the text is not SQL.
    """
    words = _words(query)
    first = words[0][1].lower() if words else ""
    if first == "explain":
        analyze = len(words) > 1 and words[1][1].lower() in {"analyze", "analyse"}
        explained = words[2 if analyze else 1 :]
        if not explained or explained[0][1] == "(":
            raise NotReadOnly(_refused("EXPLAIN with options" if explained else "EXPLAIN of nothing"))
        inner = query[explained[0][0] :]
        if len(_check(connection, inner, explained=True)) != 1:
            raise NotReadOnly(_refused("EXPLAIN of several statements"))
        return ("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + inner
    if first == "pragma":
        name = words[1][1].lower() if len(words) > 1 else ""
        rest = query[words[2][0] :].strip().rstrip(";").strip() if len(words) > 2 else ""
        template = PRAGMAS.get(name)
        takes_args = template is not None and "{args}" in template
        args = rest[1:-1] if rest.startswith("(") and rest.endswith(")") else None
        if template is None or (args is None and (rest or takes_args)) or (args and args.strip() and not takes_args):
            raise NotReadOnly(_refused(f"PRAGMA {name}".rstrip() + (" with these arguments" if template else "")))
        statement = template.format(args=args or "")
        _check(connection, statement)
        return statement
    _check(connection, query)
    return query


def _refused(what: str) -> str:
    return f"only read-only queries ({HINT}) are allowed: {what} is refused"


def _check(connection: duckdb.DuckDBPyConnection, query: str, *, explained: bool = False) -> list[Any]:
    """Every statement of ``query``'s parse tree walked against the allowlists; the statements."""
    row = connection.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        if tree.get("error_type") == "parser":
            raise BadQuery(f"Parser Error: {tree.get('error_message', 'not SQL')}")
        raise NotReadOnly(_refused(("EXPLAIN " if explained else "") + _statement_kind(query)))
    statements: list[Any] = tree.get("statements") or []
    if not statements:
        raise NotReadOnly("no SQL statement given")
    known = _known(connection)
    for statement in statements:
        _walk(statement.get("node"), frozenset(), known)
    return statements


def _statement_kind(query: str) -> str:
    """The first statement that is not a SELECT, by its first word (COPY, ATTACH, …), for the message."""
    words = [text for _, text in _words(query)]
    for n, text in enumerate(words):
        if n == 0 or words[n - 1] == ";":
            kind = text.upper()
            if kind not in {"SELECT", "WITH", "FROM", "VALUES", "DESCRIBE", "SHOW", "SUMMARIZE", "(", ";"}:
                return kind
    return "this statement"


@dataclass(frozen=True, slots=True)
class _Known:
    relations: frozenset[str]  # the lake's tables and views
    system_views: frozenset[str]  # information_schema's views
    functions: frozenset[str]  # scalar, aggregate and window functions


def _known(connection: duckdb.DuckDBPyConnection) -> _Known:
    relations = connection.execute(
        "SELECT lower(table_name) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' UNION "
        "SELECT lower(view_name) FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main'",
        [LAKE, LAKE],
    ).fetchall()
    return _Known(frozenset(r for (r,) in relations), _information_schema(), _core_functions())


@cache
def _core_functions() -> frozenset[str]:
    """Scalar and aggregate functions of DuckDB itself (no extension loaded) free of side effects, and its macros
    whose bodies call only those (``pg_sleep`` calls ``sleep_ms``: refused)."""
    with duckdb.connect() as bare:
        rows = bare.execute(
            "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate') AND NOT has_side_effects"
        ).fetchall()
        macros = bare.execute(
            "SELECT lower(function_name), lower(coalesce(macro_definition, '')) FROM duckdb_functions() "
            "WHERE function_type = 'macro'"
        ).fetchall()
    allowed = {name for (name,) in rows} | VOLATILE_VALUES | WINDOW_FUNCTIONS
    bodies: dict[str, set[str]] = {}
    for name, body in macros:
        bodies.setdefault(name, set()).update(_CALL.findall(body))
    grown = True
    while grown:  # a macro may call another
        grown = False
        for name, calls in bodies.items():
            if name not in allowed and calls <= allowed | _SQL_WORDS:
                allowed.add(name)
                grown = True
    return frozenset(allowed)


_CALL = re.compile(r'(?<!\w)"?([a-z_][a-z0-9_]*)"?\s*\(')  # qualified calls too: "system".main.f(
_SQL_WORDS = frozenset({"cast", "try_cast", "coalesce", "exists", "in", "array", "struct", "row", "map", "list"})
_SQL_WORDS |= frozenset({"case", "when", "then", "else", "and", "or", "not", "select", "from", "where", "over"})
_SQL_WORDS |= frozenset({"filter", "is", "as", "distinct", "unnest"})


@cache
def _information_schema() -> frozenset[str]:
    with duckdb.connect() as bare:
        rows = bare.execute(
            "SELECT lower(view_name) FROM duckdb_views() WHERE schema_name = 'information_schema'"
        ).fetchall()
    return frozenset(name for (name,) in rows)


def _walk(node: Any, ctes: frozenset[str], known: _Known) -> None:
    """Refuse the first node of the tree that is not on an allowlist."""
    if isinstance(node, list):
        for item in node:
            _walk(item, ctes, known)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict):
        for entry in cte_map.get("map") or []:  # a CTE sees the ones before it and itself (recursive)
            ctes = ctes | {str(entry.get("key", "")).lower()}
            _walk(entry.get("value"), ctes, known)
    kind, klass = node.get("type"), node.get("class")
    if kind == "BASE_TABLE":
        _check_relation(node, ctes, known)
    elif kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if name not in TABLE_FUNCTIONS or function.get("schema") or function.get("catalog"):
            raise NotReadOnly(f"the table function {_qualified(function)} is not allowed in `wirehouse sql`")
        _walk(function.get("children"), ctes, known)
        for key, value in node.items():
            if key != "function" and isinstance(value, dict | list):
                _walk(value, ctes, known)
        return
    elif kind == "SHOW_REF" and node.get("query") is None:
        shown = (str(node.get("catalog_name", "")).lower(), str(node.get("schema_name", "")).lower())
        listed = node.get("table_name") in SHOW_LISTS
        if not (listed or (node.get("show_type") == "SHOW_FROM" and shown in LAKE_SCOPES)):
            raise NotReadOnly(_refused("this SHOW"))
    elif klass in {"FUNCTION", "WINDOW"}:
        name = str(node.get("function_name", "")).lower()
        where = (str(node.get("catalog") or "").lower(), str(node.get("schema") or "").lower())
        if name not in known.functions or where not in FUNCTION_SCOPES:
            raise NotReadOnly(f"the function {_qualified(node)} is not allowed in `wirehouse sql`")
    for key, value in node.items():
        if key != "cte_map" and isinstance(value, dict | list):
            _walk(value, ctes, known)


def _check_relation(node: dict[str, Any], ctes: frozenset[str], known: _Known) -> None:
    catalog = str(node.get("catalog_name", "")).lower()
    schema = str(node.get("schema_name", "")).lower()
    name = str(node.get("table_name", "")).lower()
    if (catalog, schema) == ("", "") and name in ctes:
        return
    if (catalog, schema) in LAKE_SCOPES and name in known.relations:
        return
    if catalog in {"", "system"} and schema == "information_schema" and name in known.system_views:
        return
    where = ".".join(part for part in (catalog, schema, name) if part)
    raise NotReadOnly(f"{where!r} is not one of the warehouse's views or tables (`wirehouse sql` reads those only)")


def _qualified(function: dict[str, Any]) -> str:
    parts = (function.get("catalog"), function.get("schema"), function.get("function_name"))
    return ".".join(str(part) for part in parts if part) or "?"


def _words(query: str) -> list[tuple[int, str]]:
    """(offset, text) of each token that is not a comment (DuckDB's tokenizer: it reads no file)."""
    try:
        tokens = duckdb.tokenize(query)
    except (duckdb.Error, RuntimeError):
        return []
    words = []
    for n, (offset, kind) in enumerate(tokens):
        end = tokens[n + 1][0] if n + 1 < len(tokens) else len(query)
        if kind != duckdb.token_type.comment:
            words.append((offset, query[offset:end].strip()))
    return words


# -- running a query ----------------------------------------------------------------------------------------------


STUCK_GRACE_SECONDS = 5.0  # after an interrupt DuckDB has not answered: planning, which it does not interrupt


def run(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    *,
    timeout: float,
    stuck: Callable[[str], None] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Check ``query`` and run it on a :func:`console`, at most ``timeout`` seconds: its columns and rows.

    ``connection.interrupt()`` stops a statement that executes; DuckDB's binder and optimizer do not look at it
    (25 nested scalar subqueries plan for seconds, 100 for hours), so ``stuck`` is called with the time-limit
    message when the statement is still running :data:`STUCK_GRACE_SECONDS` later (the CLI exits there).

    Raises:
        NotReadOnly, BadQuery: the query's own problem (exit 2).
        ConsoleFailed: the storage's, DuckDB's, or the time limit (exit 1).
    """
    timed_out = threading.Event()
    limit = f"query exceeded the console's time limit of {timeout:g} s (WIREHOUSE_CONSOLE_TIMEOUT_SECONDS)"

    def interrupt() -> None:
        timed_out.set()
        connection.interrupt()
        if stuck is not None:
            last_resort.start()

    timer = threading.Timer(timeout, interrupt)
    last_resort = threading.Timer(STUCK_GRACE_SECONDS, lambda: stuck(limit) if stuck else None)
    timer.daemon = last_resort.daemon = True
    timer.start()
    try:
        checked = check_read_only(connection, query)
        result = connection.execute(checked)
        columns = [d[0] for d in result.description or []]
        rows = result.fetchall()
    except duckdb.InterruptException:
        if not timed_out.is_set():
            raise KeyboardInterrupt from None  # Ctrl-C: the CLI's exit 130
        raise ConsoleFailed(limit) from None
    except duckdb.Error as error:
        if timed_out.is_set():
            raise ConsoleFailed(limit) from None
        raise _classified(error) from None
    except RecursionError:  # a tree deeper than Python walks
        raise NotReadOnly("the query is nested too deeply for `wirehouse sql`") from None
    finally:
        timer.cancel()
        if last_resort.is_alive():
            last_resort.cancel()
    return columns, rows


_STORAGE_ERRORS = re.compile(
    r"\b(FileNotFoundError|IsADirectoryError|NotADirectoryError|OSError|IOError|TimeoutError)\b"
)


def _classified(error: duckdb.Error) -> NotReadOnly | BadQuery | ConsoleFailed:
    message = first_lines(str(error))
    if isinstance(error, duckdb.OutOfMemoryException):
        return ConsoleFailed(f"{message.splitlines()[0]} (the console's memory limit is {READER_MEMORY})")
    if isinstance(error, duckdb.IOException | duckdb.InternalException | duckdb.HTTPException):
        return ConsoleFailed(message)
    if _STORAGE_ERRORS.search(message.splitlines()[0] if message else ""):
        return ConsoleFailed(message)  # raised in the wirehouse:// file system: the data files
    if isinstance(error, duckdb.PermissionException):
        return NotReadOnly(f"{message} (`wirehouse sql` reads the warehouse views only)")
    return BadQuery(message)


def first_lines(message: str) -> str:
    """DuckDB's message without the Python frames it appends for an error raised in an fsspec file system."""
    kept = []
    for line in message.splitlines():
        if line.strip() in {"At:", "Traceback (most recent call last):"}:
            break
        kept.append(line)
    return "\n".join(kept).strip()


# -- layer 2: the connection ----------------------------------------------------------------------------------------


class WarehouseFiles(AbstractFileSystem):  # type: ignore[misc]  # fsspec ships no type hints
    """``wirehouse://<root>/…``: files under one folder (local, or a bucket prefix), opened for reading only.

    A path is percent-decoded and normalised (``..``), resolved through links for local data, and compared with
    the root component by component, both as given and decoded: nothing outside the root is reachable, not
    through ``%2e%2e``, a link inside, ``<root>-other/`` or another bucket.
    """

    protocol = (PROTOCOL,)
    cachable = False  # one instance per console, never shared through fsspec's instance cache

    def __init__(self, root: Path | str, backend: AbstractFileSystem | None = None) -> None:
        super().__init__()
        self._local = backend is None
        self._backend = backend if backend is not None else LocalFileSystem()
        root_text = str(root).rstrip("/") if self._local else str(root).strip("/")
        self.root = os.path.realpath(root_text) if self._local else posixpath.normpath(root_text)
        self._root_parts = _parts(self.root)

    def _inside(self, path: str) -> str:
        raw: str = self._strip_protocol(path)
        resolved = ""
        for form in {raw, unquote(raw)}:
            if "\x00" in form or "\\" in form:
                raise PermissionError(f"outside the warehouse data folder: {path}")
            normal = os.path.realpath(form) if self._local else posixpath.normpath(form.lstrip("/"))
            if _parts(normal)[: len(self._root_parts)] != self._root_parts:
                raise PermissionError(f"outside the warehouse data folder: {path}")
            if form == raw:
                resolved = normal
        return resolved

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        return self._backend.ls(self._inside(path), detail=detail)

    def info(self, path: str, **kwargs: Any) -> Any:
        return self._backend.info(self._inside(path))

    def exists(self, path: str, **kwargs: Any) -> bool:  # fsspec's own says False for any error: say why
        return bool(self._backend.exists(self._inside(path)))

    def modified(self, path: str) -> Any:
        return self._backend.modified(self._inside(path))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode != "rb":
            raise PermissionError(f"the warehouse is read-only here (mode {mode!r}): {path}")
        return self._backend.open(self._inside(path), mode="rb")

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("the warehouse is read-only here")

    mkdir = makedirs = rmdir = rm = rm_file = _rm = mv = cp_file = copy = put_file = pipe_file = touch = _refuse


class WarehouseObjects(WarehouseFiles):
    """``s3://bucket/prefix/…`` through s3fs, the same checks: DuckDB's own S3 file system is off in the console."""

    protocol = ("s3",)


def _parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


def _s3_files(warehouse: Warehouse) -> tuple[str, AbstractFileSystem]:
    """``bucket/prefix`` and an s3fs client with the lake's S3 options (DuckDB's secret names)."""
    import s3fs

    url = urlsplit(warehouse.data_url)
    if url.scheme not in {"s3", "s3a"}:
        raise ConsoleFailed(f"`wirehouse sql` reads local or S3 data only, not {url.scheme}://")
    options = warehouse.s3
    kwargs: dict[str, Any] = {"skip_instance_cache": True}
    if options.get("key_id"):
        kwargs.update(key=options["key_id"], secret=options.get("secret"), token=options.get("session_token"))
    if options.get("endpoint"):
        scheme = "http" if options.get("use_ssl", "true").lower() == "false" else "https"
        endpoint = options["endpoint"]
        kwargs["endpoint_url"] = endpoint if "://" in endpoint else f"{scheme}://{endpoint}"
    if options.get("region"):
        kwargs["client_kwargs"] = {"region_name": options["region"]}
    if options.get("url_style") == "path":
        kwargs["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    return f"{url.netloc}/{url.path.strip('/')}".rstrip("/"), s3fs.S3FileSystem(**kwargs)


def lock_down(connection: duckdb.DuckDBPyConnection, data: str) -> None:
    """DuckDB's own settings: no local, S3 or HTTP file system, external access only to ``data``, locked.

    Order matters: spilling goes off and external access goes off while the local file system is still on
    (DuckDB checks its temporary directory then), and the lock comes last, so no statement can undo the rest.
    """
    connection.execute("SET temp_directory = ''")  # nothing spills: a query over the memory limit fails
    connection.execute("SET python_enable_replacements = false")  # no Python variable is a table
    connection.execute(f"SET allowed_directories = [{sql_literal(data)}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET allow_community_extensions = false")
    connection.execute(f"SET disabled_filesystems = {sql_literal(','.join(DUCKDB_FILE_SYSTEMS))}")
    connection.execute("SET lock_configuration = true")


DUCKDB_FILE_SYSTEMS = (
    "LocalFileSystem",
    "S3FileSystem",
    "HTTPFileSystem",
    "HuggingFaceFileSystem",
    "GCSFileSystem",
    "R2FileSystem",
)


def console(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached read-only, its data files read through :class:`WarehouseFiles`.

    Local data is read as ``wirehouse://<folder>/…``; S3 data keeps its ``s3://`` names, served by
    :class:`WarehouseObjects` once :func:`lock_down` has switched DuckDB's own S3 file system off.
    """
    local = warehouse.local_data
    if local is None:
        root, backend = _s3_files(warehouse)
        files: WarehouseFiles = WarehouseObjects(root, backend)
        data, data_url = warehouse.data_url, None
    else:
        files = WarehouseFiles(local)
        data = data_url = f"{PROTOCOL}://{files.root}/"
    connection = warehouse.connect(read_only=True, data_url=data_url, filesystem=files)
    try:
        lock_down(connection, data)
    except BaseException:
        connection.close()
        raise
    return connection
