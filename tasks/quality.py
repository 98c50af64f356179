"""Great Expectations: the suites in expectations/*.json, run on every batch before it lands.

Rows that break a row-level expectation are split off (they go to quarantine as
``expectation_failed`` with the expectation named); every result is kept for the ``validations`` table.
"""

from __future__ import annotations

import json
import logging
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
        for table, spec in self.specs.items():
            suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta"))
            self.suites[table] = self.context.suites.add(suite)
            asset = source.add_dataframe_asset(table)
            self.batch_definitions[table] = asset.add_batch_definition_whole_dataframe(table)

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
