"""Great Expectations: the suites in expectations/*.json, run on every batch before it lands.

Rows that break a row-level expectation are split off (they go to quarantine as
``expectation_failed`` with the expectation named); every result is kept for the ``validations`` table.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

ROW_KEY = "_row_key"
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SuiteResult:
    suite: str
    success: bool
    evaluated_rows: int
    failed_rows: frozenset[int]  # row positions that broke at least one expectation
    evaluated_expectations: int
    failed_expectations: tuple[str, ...]  # "expect_…(column)"
    row_failures: dict[int, list[str]] = field(default_factory=dict)  # row → expectations it broke
    details: list[dict[str, Any]] = field(default_factory=list)  # per failing expectation: counts, examples


@dataclass(slots=True)
class SuiteTotals:
    """One suite over a whole run: what the run summary and the fail-share check read."""

    suite: str
    batches: int = 0
    failed_batches: int = 0
    evaluated_rows: int = 0
    failed_rows: int = 0
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)  # failing ones: count, examples

    @property
    def success_share(self) -> float:
        return 1 - self.failed_rows / self.evaluated_rows if self.evaluated_rows else 1.0


def load_suite_specs(expectations_dir: Path) -> dict[str, dict[str, Any]]:
    """Suite JSON files by table name (file stem)."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(expectations_dir.glob("*.json"))}


def _label(expectation: dict[str, Any]) -> str:
    kwargs = expectation.get("kwargs", {})
    column = kwargs.get("column")
    return f"{expectation['type']}({column})" if column else str(expectation["type"])


class Validator:
    """One Great Expectations context per run; import cost (~3 s) is paid once, here."""

    def __init__(self, expectations_dir: Path) -> None:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no per-batch INFO chatter
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("wirehouse")
        self.specs = load_suite_specs(expectations_dir)
        self.suites: dict[str, Any] = {}
        self.batch_definitions: dict[str, Any] = {}
        self.history: list[tuple[str, Any]] = []  # (table, GE result) of this run, for Data Docs
        self.history_cap = 500  # a run of 500 batches × 3 suites keeps the last 500 results
        self.totals: dict[str, SuiteTotals] = {}  # per suite, summed over the run's batches
        for table, spec in self.specs.items():
            suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta"))
            self.suites[table] = self.context.suites.add(suite)
            asset = source.add_dataframe_asset(table)
            self.batch_definitions[table] = asset.add_batch_definition_whole_dataframe(table)

    def _tally(self, suite: str, evaluated: int, failed: int, details: list[dict[str, Any]]) -> None:
        totals = self.totals.setdefault(suite, SuiteTotals(suite))
        totals.batches += 1
        totals.failed_batches += bool(details)
        totals.evaluated_rows += evaluated
        totals.failed_rows += failed
        for detail in details:
            seen = totals.expectations.setdefault(detail["expectation"], {"unexpected_count": 0, "examples": []})
            seen["unexpected_count"] += int(detail.get("unexpected_count") or 0)
            seen["examples"] = (seen["examples"] + list(detail.get("examples", [])))[:_EXAMPLES]
            if "error" in detail:
                seen["error"] = detail["error"]

    def columns(self, table: str) -> list[str]:
        return sorted(
            {e["kwargs"]["column"] for e in self.specs[table]["expectations"] if "column" in e.get("kwargs", {})}
        )

    def validate(self, table: str, data: pa.Table) -> SuiteResult:
        """Validate the columns the suite names; failing rows are reported by position."""
        if table not in self.suites:
            raise KeyError(f"no expectation suite for table {table!r} in expectations/")
        columns = [c for c in self.columns(table) if c in data.column_names]
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
        for outcome in result.results:
            if outcome.success:
                continue
            config = outcome.expectation_config
            label = _label({"type": config.type, "kwargs": dict(config.kwargs)})
            failed.append(label)
            info = outcome.result or {}
            rows = [int(item[ROW_KEY]) for item in info.get("unexpected_index_list") or [] if isinstance(item, dict)]
            for row in rows:
                row_failures.setdefault(row, []).append(label)
            error = (
                (outcome.exception_info or {}).get("exception_message")
                if isinstance(outcome.exception_info, dict)
                else None
            )
            details.append(
                {
                    "expectation": label,
                    "unexpected_count": info.get("unexpected_count", len(rows)),
                    "examples": [_short(v) for v in (info.get("partial_unexpected_list") or [])[:_EXAMPLES]],
                    **({"error": error} if error else {}),
                }
            )
        self._tally(self.specs[table]["name"], len(frame), len(row_failures), details)
        return SuiteResult(
            suite=self.specs[table]["name"],
            success=bool(result.success),
            evaluated_rows=len(frame),
            failed_rows=frozenset(row_failures),
            evaluated_expectations=len(result.results),
            failed_expectations=tuple(failed),
            row_failures=row_failures,
            details=details,
        )


def _short(value: Any) -> Any:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


DOCS_SITE = "wirehouse"
_OFFLINE_ASSETS = ("wirehouse-offline.css", "wirehouse-offline.js")


class DataDocs:
    """A file-mode GE project built from expectations/*.json: one Checkpoint per table, Data Docs offline.

    The project folder (``<project_root>/gx``) is generated: suites are re-read from ``expectations/`` on
    every open, so the hand-written JSON stays the only source. Data Docs land in ``docs_dir``.
    """

    def __init__(self, expectations_dir: Path, project_root: Path, docs_dir: Path) -> None:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        import great_expectations as gx
        from great_expectations.checkpoint.actions import UpdateDataDocsAction
        from great_expectations.data_context.types.base import ProgressBarsConfig

        project_root.mkdir(parents=True, exist_ok=True)
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
            suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta"))
            suite = self.context.suites.add_or_update(suite)
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
        return sorted(
            {e["kwargs"]["column"] for e in self.specs[table]["expectations"] if "column" in e.get("kwargs", {})}
        )

    def run_checkpoint(self, table: str, data: pa.Table, run_name: str) -> bool:
        """Validate a whole table with its Checkpoint (which updates Data Docs); True when it passed."""
        import great_expectations as gx

        frame = data.to_pandas()
        result = self.checkpoints[table].run(
            batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_name)
        )
        self.make_offline()
        return bool(result.success)

    def record(self, run_name: str, results: list[tuple[str, Any]]) -> Path | None:
        """Store a run's per-batch results and rebuild Data Docs once; returns the run's first failing page."""
        from datetime import UTC, datetime
        from urllib.parse import unquote

        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        run = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
        keys = []
        for position, (table, result) in enumerate(results):
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=self.specs[table]["name"]),
                run_id=run,
                batch_identifier=f"{table}-batch-{position + 1:04d}",
            )
            self.context.validation_results_store.set(key, result)
            keys.append((key, bool(result.success)))
        if not keys:
            return None
        self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[k for k, _ in keys])
        self.make_offline()
        first = next((k for k, ok in keys if not ok), keys[0][0])
        urls = self.context.get_docs_sites_urls(resource_identifier=first, site_name=DOCS_SITE)
        url = urls[0].get("site_url") if urls else None
        return Path(unquote(url.removeprefix("file://"))) if url else None

    def build(self) -> Path:
        """Rebuild the whole site (index, suites, every stored result); returns index.html."""
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
