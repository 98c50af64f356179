"""What one run did: the summary the flow returns, the CLI prints and the Prefect UI shows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tasks.models import Counts, RunStatus
from tasks.quality.suites import Validator
from tasks.store.landing import BatchOutcome


class RunFailed(RuntimeError):
    """The pipeline itself failed (not bad input): the flow run ends Failed."""


@dataclass(slots=True)
class RunSummary:
    flow_run_id: str
    status: RunStatus = RunStatus.COMPLETED
    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failing_suites: dict[str, str] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    warehouse: str = ""
    message: str = ""
    validator: Validator | None = None  # the run's GE results and per-suite totals (None if nothing was new)
    results_kept: bool = False  # the run's GE results wait for ``wirehouse docs`` to render them
    events: list[str] = field(default_factory=list)  # custom Prefect events this run emitted

    def add(self, outcome: BatchOutcome) -> None:
        """Fold one landed batch into the run's totals."""
        self.counts += outcome.counts
        self.languages.update(outcome.languages)
        self.reasons.update(outcome.reasons)
        self.quarantined_files.extend(outcome.quarantined_files)

    @property
    def name(self) -> str:
        return f"ingest {self.counts.new_files} new · {self.counts.quarantined} quarantined"
