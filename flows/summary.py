"""What one run did: the summary the flow returns, the CLI prints and the Prefect UI shows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tasks.models import RunStatus
from tasks.quality.suites import Validator


class RunFailed(RuntimeError):
    """The pipeline itself failed (not bad input): the flow run ends Failed."""


@dataclass(slots=True)
class RunSummary:
    flow_run_id: str
    status: RunStatus = RunStatus.COMPLETED
    files_seen: int = 0
    new_files: int = 0
    landed: int = 0
    duplicates: int = 0
    unchanged: int = 0  # touched (new mtime), same bytes: nothing to do
    quarantined: int = 0
    deferred: int = 0
    deleted: int = 0
    unlisted: int = 0  # folders that could not be listed (nothing under them was marked deleted)
    articles: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failing_suites: dict[str, str] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    warehouse: str = ""
    message: str = ""
    validator: Validator | None = None  # the run's GE results and per-suite totals (None if nothing was new)
    docs_page: str = ""  # the run's Data Docs page
    events: list[str] = field(default_factory=list)  # custom Prefect events this run emitted

    @property
    def name(self) -> str:
        return f"ingest {self.new_files} new · {self.quarantined} quarantined"
