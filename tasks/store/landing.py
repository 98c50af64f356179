"""A collected batch validated (``validate_batch``) and committed in one transaction (``land_batch``); deletion and
run records; ``requeue_files``."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tasks.faults import crash_point
from tasks.models import Counts, FileStatus, Reason
from tasks.quality.suites import SuiteResult, Validator, expectation_rejections
from tasks.store.batches import PreparedBatch
from tasks.store.records import quarantine_row, settle_file
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.writer import Writer, new_batch_id, utc_now


@dataclass(slots=True)
class ValidatedBatch:
    prepared: PreparedBatch
    results: list[SuiteResult]
    validations: list[dict[str, Any]]


def validate_batch(batch: PreparedBatch, validator: Validator, flow_run_id: str) -> ValidatedBatch:
    """Run every suite; rows failing the articles suite move to quarantine, naming the expectations."""
    crash_point("validate")
    now = utc_now()
    results: list[SuiteResult] = []
    articles = table_from_rows("article_versions", batch.articles)
    if articles.num_rows:
        result = validator.validate("articles", articles)
        results.append(result)
        rejected = expectation_rejections(result, batch.articles)
        for position, rejection in rejected.items():
            article = batch.articles[position]
            batch.quarantine.append(
                quarantine_row(
                    article["source_path"],
                    article["file_version"],
                    rejection,
                    article["content_sha256"],
                    flow_run_id,
                    batch.batch_id,
                    now,
                )
            )
        if rejected:
            batch.articles = [article for position, article in enumerate(batch.articles) if position not in rejected]
    _settle_file_status(batch)
    for table, rows in (("files", batch.files), ("quarantine", batch.quarantine)):
        if rows and table in validator.suites:
            results.append(validator.validate(table, table_from_rows(table, rows)))
    validations = [
        {
            "validation_id": f"{batch.batch_id}:{r.suite}",
            "suite": r.suite,
            "success": r.success,
            "evaluated_rows": r.evaluated_rows,
            "failed_rows": len(r.failed_rows),
            "evaluated_expectations": r.evaluated_expectations,
            "failed_expectations": list(r.failed_expectations),
            "details": json.dumps(r.details, ensure_ascii=False, default=str),
            "flow_run_id": flow_run_id,
            "batch_id": batch.batch_id,
            "validated_at": now,
        }
        for r in results
    ]
    return ValidatedBatch(batch, results, validations)


def _settle_file_status(batch: PreparedBatch) -> None:
    """Each landed-status file's ledger row settled from the articles of it that survived (``settle_file``)."""
    survivors: dict[str, list[str]] = {}
    for article in batch.articles:
        survivors.setdefault(article["source_path"], []).append(article["article_id"])
    reasons: dict[str, list[str]] = {}
    for row in batch.quarantine:
        reasons.setdefault(row["source_path"], []).append(row["reason_code"])
    for row in batch.files:
        if row["status"] != FileStatus.LANDED.value:
            continue
        path = row["source_path"]
        settled = settle_file(
            survivors.get(path, []),
            held_elsewhere=row.get("article_id"),
            reasons=reasons.get(path, []),
            reason_code=row.get("reason_code"),
        )
        row |= {"articles": settled.articles, "status": settled.status.value, "reason_code": settled.reason_code}
        if settled.article_id:
            row["article_id"] = settled.article_id


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one committed batch did: its counts (summed into the run's), languages, reasons, GE results."""

    batch_id: str
    files: int
    counts: Counts
    languages: Counter[str]
    reasons: Counter[str]
    results: list[SuiteResult]
    seconds: float
    quarantined_files: list[dict[str, str]]


def land_batch(validated: ValidatedBatch, session: Writer) -> BatchOutcome:
    """Keep quarantined originals, then commit every table of the batch in one DuckLake transaction."""
    batch = validated.prepared
    kept: dict[str, str] = {path: session.warehouse.keep_original(data) for path, data in batch.originals.items()}
    for row in batch.quarantine:
        row["kept_as"] = kept.get(row["source_path"])
    articles = table_from_rows("article_versions", batch.articles)
    if articles.num_rows:
        articles = articles.sort_by([("language", "ascending"), ("source_path", "ascending")])
    tables = {
        "files": table_from_rows("files", batch.files),
        "article_versions": articles,
        "content_articles": table_from_rows("content_articles", batch.contents),
        "quarantine": table_from_rows("quarantine", batch.quarantine),
        "validations": table_from_rows("validations", validated.validations),
    }
    session.commit(tables, batch_id=batch.batch_id)
    crash_point("after_commit")
    status = Counter(row["status"] for row in batch.files)
    return BatchOutcome(
        batch_id=batch.batch_id,
        files=len(batch.files),
        counts=Counts(
            landed=status[FileStatus.LANDED.value],
            duplicates=status[FileStatus.DUPLICATE.value],
            quarantined=status[FileStatus.QUARANTINED.value],
            unchanged=status[FileStatus.UNCHANGED.value],
            articles=articles.num_rows,
            rows_quarantined=len(batch.quarantine),
        ),
        languages=Counter(a["language"] for a in batch.articles),
        reasons=Counter(q["reason_code"] for q in batch.quarantine),
        results=validated.results,
        seconds=time.perf_counter() - batch.started,
        quarantined_files=[
            {"source_path": q["source_path"], "reason_code": q["reason_code"], "reason_detail": q["reason_detail"]}
            for q in batch.quarantine
        ],
    )


def deletion_rows(deleted: pa.Table, flow_run_id: str, batch_id: str) -> list[dict[str, Any]]:
    crash_point("deletions")
    now = utc_now()
    return [
        {
            "source_path": row["source_path"],
            "file_version": row["file_version"],
            "size": 0,
            "status": FileStatus.DELETED.value,
            "article_id": row["article_id"],
            "articles": 0,
            "flow_run_id": flow_run_id,
            "batch_id": batch_id,
            "recorded_at": now,
        }
        for row in deleted.to_pylist()
    ]


def run_row(flow_run_id: str, **values: Any) -> pa.Table:
    row = dict.fromkeys(SCHEMAS["run_records"].names)
    row.update(flow_run_id=flow_run_id, recorded_at=utc_now(), **values)
    return table_from_rows("run_records", [row])


def requeue_files(session: Writer, sql_dir: Path, reason: Reason, path_glob: str | None) -> list[str]:
    """Mark the files quarantined with ``reason`` so the next run reads them again; returns their paths.

    Exactly once stays intact: each gets one ``requeued`` ledger row at the next file_version (like a
    deletion row), which discovery treats as changed; the re-read lands as the version after that.
    Runs in a writer session, so it never interleaves with a run's commits.
    """
    cursor = session.cursor()
    try:
        statement = (sql_dir / "requeue_candidates.sql").read_text(encoding="utf-8")
        cursor.execute(statement, {"reason": reason.value, "path": path_glob})
        columns = [d[0] for d in cursor.description or []]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    finally:
        cursor.close()
    if not rows:
        return []
    now = utc_now()
    batch_id = new_batch_id(now)
    records = [
        {
            **row,
            "status": FileStatus.REQUEUED.value,
            "reason_code": reason.value,
            "articles": 0,
            "flow_run_id": "requeue",
            "batch_id": batch_id,
            "recorded_at": now,
        }
        for row in rows
    ]
    session.commit({"files": table_from_rows("files", records)}, batch_id=batch_id)
    return [row["source_path"] for row in rows]
