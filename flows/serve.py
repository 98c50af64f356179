"""Deployment entry point: ``wirehouse serve`` registers ingest-articles on a cron schedule and runs it."""

from __future__ import annotations

from flows.ingest_articles import ingest_articles
from tasks.settings import Settings

DEPLOYMENT_NAME = "scheduled"


def serve_ingestion(settings: Settings) -> None:
    """Serve the flow: the Prefect UI shows the deployment, its schedule and every run."""
    ingest_articles.serve(
        name=DEPLOYMENT_NAME,
        cron=settings.cron,
        parameters={"settings": settings.model_dump(mode="json")},
        description=f"Ingest new and changed articles from {settings.source} into {settings.warehouse}.",
        tags=["wirehouse"],
    )
