"""Publishing a run in Prefect: its name and tags, events, the summary and quarantine artifacts, Data Docs."""

from __future__ import annotations

import time
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from flows.summary import RunSummary
from tasks.enrich.steps import ENRICHER_VERSION
from tasks.quality.suites import keep_run_results
from tasks.settings import Settings
from tasks.sources.locations import display_location, source_tag
from tasks.store.landing import BatchOutcome

SPIKE_SHARE = 0.2  # a run quarantining more than this share of its new files emits wirehouse.quarantine.spike
SPIKE_MIN_FILES = 3  # … and at least this many (one bad file in a run of two is not a spike)


def _resource(settings: Settings) -> dict[str, str]:
    """The Prefect event resource for this warehouse: automations match on ``prefect.resource.id``."""
    root = str(settings.warehouse.resolve())
    return {"prefect.resource.id": f"wirehouse.warehouse.{root}", "prefect.resource.name": root}


def _emit(summary: RunSummary, event: str, settings: Settings, payload: dict[str, Any]) -> None:
    from prefect.events import emit_event

    emitted = emit_event(event=event, resource=_resource(settings), payload=payload)
    if emitted is not None:
        summary.events.append(event)


def emit_landed(outcome: BatchOutcome, settings: Settings, run_id: str, summary: RunSummary) -> None:
    """``wirehouse.batch.landed``: one event per committed batch, with its counts."""
    _emit(
        summary,
        "wirehouse.batch.landed",
        settings,
        {
            "flow_run_id": run_id,
            "batch_id": outcome.batch_id,
            "source": display_location(settings.source),
            "files": outcome.files,
            **outcome.counts.as_dict(),
        },
    )


def _suite_lines(summary: RunSummary) -> list[str]:
    totals = summary.validator.totals if summary.validator else {}
    if not totals:
        return []
    lines = [
        "",
        "## Great Expectations",
        "",
        "| suite | result | batches | rows | failed rows | success |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for suite, t in sorted(totals.items()):
        if t.is_broken:
            verdict = "❌ broken: fails the run"
        elif suite in summary.failing_suites:
            verdict = "❌ fails the run"
        else:
            verdict = "⚠️ rows quarantined" if t.failed_rows else "✅ passed"
        lines.append(
            f"| {suite} | {verdict} | {t.batches} | {t.evaluated_rows} | {t.failed_rows} | {t.success_share:.1%} |"
        )
    failing = [(suite, name, e) for suite, t in sorted(totals.items()) for name, e in t.expectations.items()]
    if failing:
        lines += ["", "| suite | failing expectation | unexpected | examples |", "|---|---|---:|---|"]
        for suite, name, e in failing:
            examples = ", ".join(f"`{_cell(x)}`" for x in e["examples"]) or _cell(e.get("error", ""))
            lines.append(f"| {suite} | `{name}` | {e['unexpected_count']} | {examples} |")
    return lines


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("`", "'").replace("\n", " ")


def summary_markdown(summary: RunSummary, settings: Settings) -> str:
    rate = summary.counts.new_files / summary.seconds if summary.seconds else 0.0
    shown = summary.counts.shown()
    lines = [
        f"# {summary.name}",
        "",
        f"Source `{display_location(settings.source)}` → warehouse `{summary.warehouse}` · enricher `{ENRICHER_VERSION}`",
        "",
        "| " + " | ".join([*shown, "seconds", "files/s"]) + " |",
        "|" + "---:|" * (len(shown) + 2),
        "| " + " | ".join([*map(str, shown.values()), f"{summary.seconds:.1f}", f"{rate:.1f}"]) + " |",
    ]
    if summary.languages:
        lines += ["", "## Languages", "", "| language | articles |", "|---|---:|"]
        lines += [f"| {code} | {count} |" for code, count in summary.languages.most_common()]
    if summary.reasons:
        lines += ["", "## Quarantine reasons", "", "| reason_code | rows |", "|---|---:|"]
        lines += [f"| {code} | {count} |" for code, count in summary.reasons.most_common()]
    lines += _suite_lines(summary)
    if summary.failing_suites:
        lines += ["", "## Failing suites", ""] + [f"- **{s}**: {m}" for s, m in summary.failing_suites.items()]
    if summary.results_kept:
        lines += ["", "Data Docs: `wirehouse docs` renders this run's Great Expectations results"]
    return "\n".join(lines)


def _keep_results(summary: RunSummary, settings: Settings) -> None:
    """Keep this run's GE results for Data Docs; rendering them is ``wirehouse docs``'s work, not the run's."""
    if summary.validator is None or not summary.validator.history:
        return
    try:
        kept = keep_run_results(settings.warehouse, summary.name, summary.validator.history)
    except Exception as error:  # the data has landed; a docs problem must not fail the run
        get_run_logger().warning("data docs: results not kept (%s: %s)", type(error).__name__, error)
        return
    summary.results_kept = kept is not None


def publish(summary: RunSummary, settings: Settings) -> None:
    """Name and tag the run after what it did; leave a summary, the quarantine list and Data Docs in the UI."""
    logger = get_run_logger()
    started = time.perf_counter()
    _keep_results(summary, settings)
    counts = summary.counts
    if counts.quarantined >= SPIKE_MIN_FILES and counts.quarantined > SPIKE_SHARE * counts.new_files:
        _emit(
            summary,
            "wirehouse.quarantine.spike",
            settings,
            {
                "flow_run_id": summary.flow_run_id,
                "source": display_location(settings.source),
                **counts.as_dict(),
                "reasons": dict(summary.reasons.most_common()),
            },
        )
        logger.warning("quarantine spike: %d of %d new files quarantined", counts.quarantined, counts.new_files)
    create_markdown_artifact(
        key="ingest-summary", markdown=summary_markdown(summary, settings), description=summary.name
    )
    if summary.quarantined_files:
        create_table_artifact(
            key="quarantined-files", table=summary.quarantined_files[:1000], description="quarantined files and rows"
        )
    if summary.results_kept:
        from prefect.artifacts import create_link_artifact

        create_link_artifact(
            key="data-docs",
            link=(settings.warehouse / "docs" / "index.html").resolve().as_uri(),
            link_text="Great Expectations Data Docs",
            description="`wirehouse docs` renders this run's results there; open it from this machine (file://)",
        )
    if flow_run.id:
        from prefect.client.orchestration import get_client

        tags = {f"source:{source_tag(settings.source)}", f"enricher:{ENRICHER_VERSION}"}
        with get_client(sync_client=True) as client:
            tags.update(client.read_flow_run(flow_run.id).tags or [])
            client.update_flow_run(flow_run.id, name=summary.name, tags=sorted(tags))
    logger.info(
        "publish: %s · artifacts, %d event(s), data docs %s in %.2fs",
        summary.name,
        len(summary.events),
        "results kept" if summary.results_kept else "unchanged",
        time.perf_counter() - started,
    )
