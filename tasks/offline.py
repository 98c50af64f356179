"""The environment every entry point runs wirehouse in: no telemetry, no analytics, a patient temporary server.

Defaults, not overrides: an entry point sets each one only where the environment does not already name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

OFFLINE_ENV: Mapping[str, str] = MappingProxyType(
    {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",  # the temporary server on a loaded machine
        "GX_ANALYTICS_ENABLED": "false",
    }
)
