"""Deployment entry point: ``wirehouse serve`` registers ingest-articles on a cron schedule and runs it."""

from __future__ import annotations

from typing import cast

from prefect import serve
from prefect.deployments.runner import EntrypointType, RunnerDeployment  # type: ignore[attr-defined]

from flows.ingest_articles import ingest_articles
from tasks.enrich.steps import ENRICHER_VERSION
from tasks.settings import Settings
from tasks.sources.locations import display_location, source_tag

DEPLOYMENT_NAME = "scheduled"
DEPLOYMENT = f"ingest-articles/{DEPLOYMENT_NAME}"


def deployment_tags(settings: Settings) -> list[str]:
    """Tags shown on the deployment and its runs: filter the UI by source folder or enricher version."""
    return ["wirehouse", f"source:{source_tag(settings.source)}", f"enricher:{ENRICHER_VERSION}"]


def serve_ingestion(settings: Settings) -> None:
    """Serve the flow: the Prefect UI shows the deployment, its schedule and every run.

    Stopping the process (Ctrl-C, SIGTERM) pauses the schedule; serving again resumes it.
    """
    deployment = ingest_articles.to_deployment(
        name=DEPLOYMENT_NAME,
        cron=settings.cron,
        parameters={"settings": settings.model_dump(mode="json")},
        description=f"Ingest new and changed articles from {display_location(settings.source)} into {settings.warehouse}.",
        tags=deployment_tags(settings),
        version=ENRICHER_VERSION,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # prefect.serve() runs each flow run as `python -m prefect.engine`, which imports flows.ingest_articles.
    # Flow.serve() would instead cloudpickle the in-memory flow by value, dropping the globals that only its
    # postponed annotations name (`settings: Settings`): every scheduled run then fails parameter validation.
    serve(cast(RunnerDeployment, deployment))  # to_deployment is sync outside an event loop
