"""Enrichment in chunks (as workers run it) gives each file exactly what enriching it alone gives."""

from __future__ import annotations

import json

from tasks.enrich.steps import enrich_file, enrich_jobs
from tasks.models import FileRef, Reason

EN = "The government announced on Tuesday that it would raise taxes on fuel to pay for new railway lines."
DE = "Die Regierung kündigte am Dienstag an, die Steuern auf Kraftstoff zu erhöhen, um neue Bahnstrecken zu bauen."
FR = "Le gouvernement a annoncé mardi qu'il augmenterait les taxes sur le carburant pour financer de nouvelles lignes."


def _files() -> list[tuple[FileRef, bytes]]:
    records = [{"headline": "Taxes", "body": EN}, {"body": "12 34 56 -- 78 %"}, {"body": FR}]
    contents = {
        "a.txt": f"Fuel taxes\n\n{EN}\n\n{EN}".encode(),
        "b.jsonl": "\n".join(json.dumps(r) for r in records).encode(),
        "empty.txt": b"",
        "c.html": f"<html><head><title>Steuern</title></head><body><article><p>{DE}</p><p>{DE}</p></article></body></html>".encode(),
        "d.md": f"# Lignes\n\n{FR}".encode(),
    }
    return [(FileRef(name, len(data), 1_700_000_000 * 10**9), data) for name, data in contents.items()]


def test_a_chunk_gives_each_file_what_it_gets_alone() -> None:
    files = _files()
    chunked = enrich_jobs([(ref, data, 10**7) for ref, data in files])
    alone = [enrich_file(ref, data, max_decompressed_bytes=10**7) for ref, data in files]
    assert chunked == alone
    languages = [[row["language"] for row in rows] for _, _, rows, _ in chunked]
    assert languages == [["en"], ["en", "fr"], [], ["de"], ["fr"]]
    reasons = [[r.reason_code for r in rejections] for _, _, _, rejections in chunked]
    assert reasons == [[], [Reason.NO_TEXT], [Reason.EMPTY], [], []]


def test_an_empty_chunk() -> None:
    assert enrich_jobs([]) == []
