"""The rules both ingest and re-enrichment record by: a rejection's quarantine row, and a landed file's ledger
status settled from the articles it kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasks.models import FileStatus, Reason, Rejection


def quarantine_row(
    source_path: str,
    file_version: int,
    rejection: Rejection,
    sha: str | None,
    flow_run_id: str,
    batch_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The quarantine row of ``rejection`` of one file version (``kept_as`` is set once its bytes are kept)."""
    return {
        "source_path": source_path,
        "file_version": file_version,
        "record_index": rejection.record_index,
        "reason_code": rejection.reason_code.value,
        "reason_detail": rejection.detail,
        "stage": rejection.stage,
        "content_sha256": sha,
        "flow_run_id": flow_run_id,
        "batch_id": batch_id,
        "quarantined_at": now,
    }


@dataclass(frozen=True, slots=True)
class Settlement:
    """A landed file's ledger columns once its articles are known."""

    articles: int
    article_id: str | None  # its first surviving article, or the one held elsewhere; None: unchanged
    status: FileStatus
    reason_code: str | None


def settle_file(
    survivors: Sequence[str], *, held_elsewhere: str | None, reasons: Sequence[str], reason_code: str | None
) -> Settlement:
    """A landed-status file keeps that status while an article of it survives (``survivors``: their ids, in landing
    order); with none it is a duplicate when its articles are held elsewhere (``held_elsewhere``: the first), else
    quarantined. ``reason_code`` is the file's first enrichment rejection, if any; a quarantined file with none
    takes the first of ``reasons`` (its quarantine rows' reasons, in order), else ``no_body``."""
    if survivors:
        return Settlement(len(survivors), survivors[0], FileStatus.LANDED, reason_code)
    if held_elsewhere:
        return Settlement(0, held_elsewhere, FileStatus.DUPLICATE, reason_code)
    reason = reason_code or (reasons[0] if reasons else Reason.NO_BODY.value)
    return Settlement(0, None, FileStatus.QUARANTINED, reason)
