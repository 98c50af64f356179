"""Timestamps as pages and feeds state them, read into UTC instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ZONE_WITHOUT_COLON = re.compile(r"([+-]\d\d)(\d\d)$")


def parse_instant(value: str) -> datetime | None:
    """An ISO 8601 timestamp with a time and a zone ("2021-11-01T10:52:50+0100", "…Z") in UTC; None without
    either: a time without its zone is no instant."""
    value = _ZONE_WITHOUT_COLON.sub(r"\1:\2", value.strip().replace(" ", "T", 1))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if "T" in value and moment.tzinfo is not None else None
