"""Flow tests run the real flow against the session's Prefect API (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_api: str) -> str:
    """Every flow test reports to the session's one API."""
    return prefect_api
