"""Great Expectations: the suites in expectations/*.json, run on every batch before it lands.

Rows that break a row-level expectation are split off (they go to quarantine as
``expectation_failed`` with the expectation named); every result is kept for the ``validations`` table.

A suite that cannot be trusted fails the run instead: a file that does not load into GE raises
``SuiteError`` when the ``Validator`` is built, and an expectation that raised while evaluating (a
misspelt column, a bad regex) or a failing expectation with no rows to blame (a row count, a column
mean) makes the batch's ``SuiteResult.broken`` and the run's ``SuiteTotals.broken`` non-empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pyarrow as pa

from tasks.models import Reason, Rejection

ROW_KEY = "_row_key"
DOCS_HISTORY = 500  # GE results a run keeps for Data Docs: a run of 500 batches × 3 suites keeps the last 500
_EXAMPLES = 3
_COLUMN_KWARGS = ("column", "column_A", "column_B")  # …and "column_list": columns an expectation evaluates


class SuiteError(ValueError):
    """A suite file that cannot be loaded into Great Expectations (names the file and the problem)."""


@dataclass(frozen=True, slots=True)
class SuiteResult:
    suite: str
    success: bool  # False when any expectation failed, including a broken one
    evaluated_rows: int
    failed_rows: frozenset[int]  # row positions that broke at least one expectation
    evaluated_expectations: int
    failed_expectations: tuple[str, ...]  # "expect_…(column)"
    row_failures: dict[int, list[str]] = field(default_factory=dict)  # row → expectations it broke
    details: list[dict[str, Any]] = field(default_factory=list)  # per failing expectation: counts, examples, error
    errors: tuple[str, ...] = ()  # "expect_…(column): ExceptionType: message" per expectation that raised
    table_failures: tuple[str, ...] = ()  # "expect_…: observed …" per failing expectation with no rows to blame

    @property
    def broken(self) -> bool:
        """The suite could not judge this batch row by row: the run must fail, not quarantine rows."""
        return bool(self.errors or self.table_failures)


def expectation_rejections(result: SuiteResult, rows: Sequence[Mapping[str, Any]]) -> dict[int, Rejection]:
    """Position → the ``expectation_failed`` Rejection of each of ``rows`` (the rows ``result`` judged, in order)
    that broke an expectation, naming them: such a row moves to quarantine, the others land."""
    return {
        position: Rejection(
            Reason.EXPECTATION_FAILED, "; ".join(broken), "validate", rows[position]["record_index"] or None
        )
        for position, broken in sorted(result.row_failures.items())
    }


@dataclass(slots=True)
class SuiteTotals:
    """One suite over a whole run: what the run summary and the fail-share check read."""

    suite: str
    batches: int = 0
    failed_batches: int = 0
    broken_batches: int = 0
    evaluated_rows: int = 0
    failed_rows: int = 0
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)  # failing ones: count, examples, error
    broken: dict[str, str] = field(default_factory=dict)  # expectation → why it broke (first time seen)

    @property
    def success_share(self) -> float:
        return 1 - self.failed_rows / self.evaluated_rows if self.evaluated_rows else 1.0

    @property
    def is_broken(self) -> bool:
        return bool(self.broken)

    def failure(self, fail_share: float) -> str | None:
        """Why this suite fails the run (a broken expectation, or too many failed rows); None when it does not."""
        if self.broken:
            reasons = "; ".join(f"{name}: {message}" for name, message in self.broken.items())
            return f"broken in {self.broken_batches}/{self.batches} batches: {reasons}"
        share = self.failed_rows / max(1, self.evaluated_rows)
        if share > fail_share:
            return f"{self.failed_rows}/{self.evaluated_rows} rows failed ({share:.0%} > fail_share {fail_share:.0%})"
        return None


def load_suite_specs(expectations_dir: Path) -> dict[str, dict[str, Any]]:
    """Suite JSON files by table name (file stem), checked for the shape GE needs; raises SuiteError."""
    if not expectations_dir.is_dir():
        raise SuiteError(f"{expectations_dir}: no such expectations folder")
    paths = sorted(expectations_dir.glob("*.json"))
    if not paths:
        raise SuiteError(f"{expectations_dir}: no suites (*.json) in the expectations folder")
    return {path.stem: _read_spec(path) for path in paths}


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SuiteError(f"{path}: cannot be read: {error}") from error
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(spec, dict):
        raise SuiteError(f"{path}: a suite must be a JSON object, not {type(spec).__name__}")
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise SuiteError(f'{path}: missing "name" (a non-empty string)')
    expectations = spec.get("expectations")
    if not isinstance(expectations, list):
        raise SuiteError(f'{path}: missing "expectations" (a list)')
    if "meta" in spec and not isinstance(spec["meta"], dict):
        raise SuiteError(f'{path}: "meta" must be an object')
    for number, expectation in enumerate(expectations, 1):
        if not isinstance(expectation, dict):
            raise SuiteError(f"{path}: expectation {number} must be an object")
        if not isinstance(expectation.get("type"), str):
            raise SuiteError(f'{path}: expectation {number} has no "type"')
        if not isinstance(expectation.get("kwargs"), dict):
            raise SuiteError(f'{path}: expectation {number} ({expectation["type"]}) has no "kwargs" object')
    return spec


def build_suite(gx: Any, path: Path, spec: dict[str, Any]) -> Any:
    """The GE ExpectationSuite for one checked spec; any expectation GE refuses raises SuiteError.

    GE's own constructor only logs an unknown expectation type and drops it, which would leave a
    suite that silently checks less than its file says: each expectation is built here first.
    """
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    built = []
    for number, expectation in enumerate(spec["expectations"], 1):
        try:
            built.append(ExpectationConfiguration(**expectation).to_domain_obj())
        except Exception as error:
            raise SuiteError(
                f"{path}: expectation {number} ({_label(expectation)}) is not valid: {_one_line(error)}"
            ) from error
    try:
        suite = gx.ExpectationSuite(name=spec["name"], expectations=built, meta=spec.get("meta"))
    except Exception as error:
        raise SuiteError(f"{path}: {_one_line(error)}") from error
    if len(suite.expectations) != len(built):  # never dropped silently
        raise SuiteError(f"{path}: GE kept {len(suite.expectations)} of {len(built)} expectations")
    return suite


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def _label(expectation: dict[str, Any]) -> str:
    kwargs = expectation.get("kwargs", {})
    column = kwargs.get("column")
    return f"{expectation['type']}({column})" if column else str(expectation["type"])


def _suite_columns(spec: dict[str, Any]) -> list[str]:
    columns: set[str] = set()
    for expectation in spec["expectations"]:
        kwargs = expectation["kwargs"]
        columns.update(str(kwargs[key]) for key in _COLUMN_KWARGS if isinstance(kwargs.get(key), str))
        if isinstance(kwargs.get("column_list"), list):
            columns.update(str(c) for c in kwargs["column_list"])
    return sorted(columns)


def _raised(exception_info: Any) -> str | None:
    """ "ExceptionType: message" when an expectation raised; GE nests the info per metric when a metric failed."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    messages: list[str] = []
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            text = (
                f"{_exception_type(info.get('exception_traceback'))}: {info.get('exception_message') or 'no message'}"
            )
            if text not in messages:
                messages.append(text)
    return "; ".join(messages) or None


def _exception_type(traceback: Any) -> str:
    """The raising exception's class name, from the last line of GE's formatted traceback."""
    lines = [line for line in str(traceback or "").splitlines() if line.strip()]
    if not lines or ":" not in lines[-1] or lines[-1].startswith(" "):
        return "Exception"
    return lines[-1].split(":", 1)[0].rsplit(".", 1)[-1]


def _observed(config_kwargs: dict[str, Any], info: dict[str, Any]) -> str:
    """Why an expectation with no rows to blame failed: what GE observed, against the kwargs it was given."""
    expected = ", ".join(
        f"{k}={_short(v)}" for k, v in config_kwargs.items() if k not in {"batch_id", "column"} and v is not None
    )
    observed = f"observed {_short(info['observed_value'])}" if "observed_value" in info else "failed"
    return f"{observed} ({expected})" if expected else observed


class Validator:
    """One Great Expectations context per run; import cost (~3 s) is paid once, here.

    Raises:
        SuiteError: a suite file in ``expectations_dir`` is not valid JSON, lacks its expectations,
            or names an expectation GE does not know or kwargs it refuses.
    """

    def __init__(self, expectations_dir: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.specs = load_suite_specs(expectations_dir)  # before GE: a bad file fails fast and clearly
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("wirehouse")
        self.suites: dict[str, Any] = {}
        self.batch_definitions: dict[str, Any] = {}
        self.history: list[tuple[str, Any]] = []  # (table, GE result) of this run, for Data Docs
        self.history_cap = DOCS_HISTORY
        self.totals: dict[str, SuiteTotals] = {}  # per suite, summed over the run's batches
        for table, spec in self.specs.items():
            suite = build_suite(gx, expectations_dir / f"{table}.json", spec)
            self.suites[table] = self.context.suites.add(suite)
            asset = source.add_dataframe_asset(table)
            self.batch_definitions[table] = asset.add_batch_definition_whole_dataframe(table)

    def _tally(self, result: SuiteResult) -> None:
        totals = self.totals.setdefault(result.suite, SuiteTotals(result.suite))
        totals.batches += 1
        totals.failed_batches += bool(result.details)
        totals.broken_batches += result.broken
        totals.evaluated_rows += result.evaluated_rows
        totals.failed_rows += len(result.failed_rows)
        for detail in result.details:
            seen = totals.expectations.setdefault(detail["expectation"], {"unexpected_count": 0, "examples": []})
            seen["unexpected_count"] += int(detail.get("unexpected_count") or 0)
            seen["examples"] = (seen["examples"] + list(detail.get("examples", [])))[:_EXAMPLES]
            why = detail.get("error") or detail.get("observed")  # broken: raised, or failed with no rows
            if why:
                seen["error"] = why
                totals.broken.setdefault(detail["expectation"], why)

    def columns(self, table: str) -> list[str]:
        return _suite_columns(self.specs[table])

    def validate(self, table: str, data: pa.Table) -> SuiteResult:
        """Validate the columns the suite names; failing rows are reported by position.

        An expectation that raised, or failed without naming rows, is not a row failure: it lands in
        ``errors`` / ``table_failures`` and makes the result ``broken`` (and never ``success``).
        """
        if table not in self.suites:
            raise KeyError(f"no expectation suite for table {table!r} in expectations/")
        columns = [c for c in self.columns(table) if c in data.column_names]  # a missing one raises in GE
        frame = data.select(columns).to_pandas()
        frame[ROW_KEY] = range(len(frame))
        batch = self.batch_definitions[table].get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            self.suites[table],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_KEY]},
        )
        self.history.append((table, result))
        del self.history[: -self.history_cap]
        row_failures: dict[int, list[str]] = {}
        failed: list[str] = []
        details: list[dict[str, Any]] = []
        errors: list[str] = []
        table_failures: list[str] = []
        for outcome in result.results:
            error = _raised(outcome.exception_info)
            if outcome.success and error is None:
                continue
            config = outcome.expectation_config
            config_kwargs = dict(config.kwargs)
            label = _label({"type": config.type, "kwargs": config_kwargs})
            failed.append(label)
            info = outcome.result or {}
            rows = [int(item[ROW_KEY]) for item in info.get("unexpected_index_list") or [] if isinstance(item, dict)]
            detail: dict[str, Any] = {
                "expectation": label,
                "unexpected_count": info.get("unexpected_count", len(rows)),
                "examples": [_short(v) for v in (info.get("partial_unexpected_list") or [])[:_EXAMPLES]],
            }
            if error is not None:
                detail["kind"] = "error"
                detail["error"] = error
                errors.append(f"{label}: {error}")
            elif rows:
                detail["kind"] = "rows"
                for row in rows:
                    row_failures.setdefault(row, []).append(label)
            else:
                detail["kind"] = "table"
                detail["observed"] = _observed(config_kwargs, info)
                table_failures.append(f"{label}: {detail['observed']}")
            details.append(detail)
        suite_result = SuiteResult(
            suite=self.specs[table]["name"],
            success=bool(result.success) and not errors and not table_failures,
            evaluated_rows=len(frame),
            failed_rows=frozenset(row_failures),
            evaluated_expectations=len(result.results),
            failed_expectations=tuple(failed),
            row_failures=row_failures,
            details=details,
            errors=tuple(errors),
            table_failures=tuple(table_failures),
        )
        self._tally(suite_result)
        return suite_result


def _short(value: Any) -> Any:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


DOCS_SITE = "wirehouse"


def kept_results_dir(project_root: Path) -> Path:
    return project_root / "gx" / "uncommitted" / "kept_results"


def keep_run_results(project_root: Path, run_name: str, results: Sequence[tuple[str, Any]]) -> Path | None:
    """Keep a run's GE results (one JSON file) for the Data Docs ``DataDocs.build`` renders (``wirehouse docs``).

    Opening the GE project and rendering its pages takes about 1.5 s, more than a small run's own work, so a
    run only writes its results down; the file appears whole (renamed into place) or not at all.
    """
    if not results:
        return None
    folder = kept_results_dir(project_root)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    kept = {
        "run_name": run_name,
        "run_time": now.isoformat(),
        "results": [
            {"table": table, "suite": result.suite_name, "result": result.to_json_dict()} for table, result in results
        ],
    }
    target = folder / f"{now:%Y%m%dT%H%M%S%fZ}-{uuid4().hex[:8]}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(kept), encoding="utf-8")
    partial.replace(target)
    return target


_OFFLINE_ASSETS = ("wirehouse-offline.css", "wirehouse-offline.js")


class DataDocs:
    """A file-mode GE project built from expectations/*.json: one Checkpoint per table, Data Docs offline.

    The project folder (``<project_root>/gx``) is generated: suites are re-read from ``expectations/`` on
    every open, so the hand-written JSON stays the only source. Data Docs land in ``docs_dir``.
    """

    def __init__(self, expectations_dir: Path, project_root: Path, docs_dir: Path) -> None:
        import great_expectations as gx
        from great_expectations.checkpoint.actions import UpdateDataDocsAction
        from great_expectations.data_context.types.base import ProgressBarsConfig

        project_root.mkdir(parents=True, exist_ok=True)
        self.project_root = project_root
        self.docs_dir = docs_dir.resolve()
        self.context = gx.get_context(mode="file", project_root_dir=str(project_root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        site = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "show_cta_footer": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        sites = dict(self.context.variables.data_docs_sites or {})
        if sites.get(DOCS_SITE) != site or set(sites) != {DOCS_SITE}:
            self.context.variables.data_docs_sites = {DOCS_SITE: site}  # only ours: no stray local_site
            self.context.variables.save()
        source = self.context.data_sources.add_or_update_pandas("wirehouse")
        self.specs = load_suite_specs(expectations_dir)
        self.checkpoints: dict[str, Any] = {}
        for table, spec in self.specs.items():
            suite = self.context.suites.add_or_update(build_suite(gx, expectations_dir / f"{table}.json", spec))
            asset = source.add_dataframe_asset(table)
            batch = asset.add_batch_definition_whole_dataframe(table)
            definition = self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=table, data=batch, suite=suite)
            )
            self.checkpoints[table] = self.context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=table,
                    validation_definitions=[definition],
                    actions=[UpdateDataDocsAction(name="update-data-docs", site_names=[DOCS_SITE])],
                    result_format={"result_format": "SUMMARY"},
                )
            )

    def columns(self, table: str) -> list[str]:
        return _suite_columns(self.specs[table])

    def run_checkpoint(self, table: str, data: pa.Table, run_name: str) -> bool:
        """Validate a whole table with its Checkpoint (which updates Data Docs); True when it passed."""
        import great_expectations as gx

        frame = data.to_pandas()
        result = self.checkpoints[table].run(
            batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_name)
        )
        self.make_offline()
        return bool(result.success)

    def _file_kept_results(self) -> None:
        """Move the results runs kept (``keep_run_results``) into the project's store, oldest first."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        store = self.context.validation_results_store
        for path in sorted(kept_results_dir(self.project_root).glob("*.json")):
            kept = json.loads(path.read_text(encoding="utf-8"))
            run = RunIdentifier(run_name=kept["run_name"], run_time=datetime.fromisoformat(kept["run_time"]))
            for position, item in enumerate(kept["results"]):
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=item["suite"]),
                    run_id=run,
                    batch_identifier=f"{item['table']}-batch-{position + 1:04d}",
                )
                store.set(key, store.deserialize(json.dumps(item["result"])))  # type: ignore[no-untyped-call]
            path.unlink()

    def build(self) -> Path:
        """Rebuild the whole site (index, suites, every stored result, the runs' kept ones); returns index.html."""
        self._file_kept_results()
        self.context.build_data_docs(site_names=[DOCS_SITE])
        self.make_offline()
        return self.docs_dir / "index.html"

    def make_offline(self) -> None:
        """GE's pages load jQuery, Bootstrap and fonts from CDNs: swap them for two small local files."""
        make_docs_offline(self.docs_dir)


_EXTERNAL = re.compile(
    r"<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>|<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>"
    r"|<img\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>|url\('https?://[^']*'\)",
    re.S,
)


_STATIC = re.compile(r'\b(href|src)="(?:\./|(?:\.\./)+)static/')


def make_docs_offline(docs_dir: Path) -> None:
    """Rewrite every Data Docs page so it opens with no network (idempotent)."""
    static = docs_dir / "static"
    static.mkdir(parents=True, exist_ok=True)
    assets = Path(__file__).with_name("docs_assets")
    for name in _OFFLINE_ASSETS:
        (static / name).write_bytes((assets / name).read_bytes())
    for page in docs_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "wirehouse-offline.js" in html:
            continue
        prefix = "../" * (len(page.relative_to(docs_dir).parts) - 1)
        local = (
            f'<link rel="stylesheet" href="{prefix}static/wirehouse-offline.css">'
            f'<script src="{prefix}static/wirehouse-offline.js"></script>'
        )
        html = _EXTERNAL.sub("", html).replace("<head>", "<head>" + local, 1)
        html = _STATIC.sub(f'\\1="{prefix}static/', html)  # GE miscounts the depth of some pages' assets
        page.write_text(html, encoding="utf-8")
