"""Which enrichment components a stored row is stale in, and what must be recomputed with them.

A stored row's ``enricher_version`` names each component's version (``language=2;metadata=3;…``); a component
whose stored version differs from ``COMPONENT_VERSIONS`` is stale, and recomputing it recomputes everything
computed from it (``DEPENDENTS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tasks.enrich.steps import (
    COMPONENT_COLUMNS,
    COMPONENT_VERSIONS,
    Step,
    no_letters_rejection,
    run_steps,
    stored_input,
)
from tasks.models import Reason, Rejection

COMPONENTS = tuple(COMPONENT_COLUMNS)  # what --only accepts (parse needs the source bytes: not re-runnable)
# What is computed from what (tasks.enrich.steps's steps): entities, quotes and keywords read the language; entities
# and quotes are one step. Fingerprints feed near_duplicate_of, relinked whenever they change.
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "language": ("entities", "quotes", "keywords"),
    "entities": ("quotes",),
    "quotes": ("entities",),
}
# The components each step of tasks.enrich.steps.STEPS writes.
STEP_COMPONENTS: dict[str, tuple[str, ...]] = {
    "language": ("language",),
    "metadata": ("metadata",),
    "entities": ("entities", "quotes"),
    "keywords": ("keywords",),
    "fingerprint": ("fingerprint",),
}


def parse_versions(value: str | None) -> dict[str, str]:
    """``"language=2;metadata=1"`` → ``{"language": "2", "metadata": "1"}``."""
    pairs = (part.split("=", 1) for part in (value or "").split(";") if "=" in part)
    return {name: version for name, version in pairs}


def format_versions(versions: dict[str, str]) -> str:
    """The inverse of ``parse_versions``, in ``COMPONENT_VERSIONS`` order (unknown names after)."""
    order = list(COMPONENT_VERSIONS) + [name for name in versions if name not in COMPONENT_VERSIONS]
    return ";".join(f"{name}={versions[name]}" for name in order if name in versions)


def with_current_versions(value: str | None, components: Iterable[str]) -> str:
    """``value`` with ``components`` at the code's versions, the others as stored."""
    return format_versions(parse_versions(value) | {name: COMPONENT_VERSIONS[name] for name in components})


def stale_components(stored_versions: Iterable[str | None]) -> tuple[str, ...]:
    """Components whose version in any stored row differs from the code's."""
    stale: set[str] = set()
    for value in set(stored_versions):
        versions = parse_versions(value)
        stale |= {name for name in COMPONENTS if versions.get(name) != COMPONENT_VERSIONS[name]}
    return tuple(name for name in COMPONENTS if name in stale)


def recompute_closure(components: Iterable[str]) -> tuple[str, ...]:
    """``components`` and everything computed from them, in ``COMPONENTS`` order."""
    wanted = set(components)
    frontier = list(wanted)
    while frontier:
        for dependent in DEPENDENTS.get(frontier.pop(), ()):
            if dependent not in wanted:
                wanted.add(dependent)
                frontier.append(dependent)
    return tuple(name for name in COMPONENTS if name in wanted)


def steps_writing(components: Iterable[str]) -> tuple[str, ...]:
    """The names of the steps that write any of ``components``, in ``STEP_COMPONENTS`` order."""
    wanted = set(components)
    return tuple(name for name, written in STEP_COMPONENTS.items() if wanted & set(written))


Output = dict[str, Any] | Rejection  # a recomputed row, or why a fresh ingest would not land it


def reenrich_rows(
    rows: list[dict[str, Any]],
    components: tuple[str, ...],
    now: datetime,
    steps: Sequence[tuple[str, Step]] | None = None,
) -> list[Output]:
    """Each stored row with the steps (of ``steps``, default ``STEPS``) writing ``components`` rerun as ingest runs
    them (``run_steps``) on the Document ingest enriched, and those components' versions stamped; or the Rejection
    a fresh ingest would give it. ``components`` must be closed under ``recompute_closure``. Top-level and
    picklable: the unit of work of a re-enrichment worker."""
    updated = [dict(row) for row in rows]
    outputs = run_steps(updated, [stored_input(row, now) for row in updated], steps_writing(components), steps)
    for row in updated:
        row["enricher_version"] = with_current_versions(row.get("enricher_version"), components)
    return [output if isinstance(output, Rejection) else no_letters_rejection(output) or output for output in outputs]


def failed_row(row: dict[str, Any], reason: Reason, detail: str) -> Output:
    """A row whose recomputation never returned (its worker died, or it outlived a file's time budget)."""
    return Rejection(reason, detail, "enrich", row.get("record_index") or None)
