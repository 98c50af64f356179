"""What every command shares: its Settings built from options and the environment, the common options, stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from flows.cli.errors import CommandFailed, UsageProblem, one_line
from tasks.settings import Settings

console = Console()

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source", help="folder or URL (s3://bucket/prefix/, gs://, az://) [env WIREHOUSE_SOURCE; default seeds/]"
    ),
]
WarehouseOption = Annotated[
    Path | None, typer.Option("--warehouse", help="warehouse folder [env WIREHOUSE_WAREHOUSE; default warehouse/]")
]
WorkersOption = Annotated[int | None, typer.Option(help="enrichment processes (default: all cores)")]


def build_settings(**overrides: Any) -> Settings:
    """Settings from the options given (None: not given) over the environment; a bad value is a usage error."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UsageProblem(f"invalid {where}: {first['msg']}") from None
    except SettingsError as error:  # a WIREHOUSE_* variable that is not what its field takes (bad JSON, …)
        raise UsageProblem(f"{one_line(error)} (dict and list settings take JSON)") from None


def require_warehouse(settings: Settings) -> None:
    """Readers and writers need a warehouse a run made: none is a usage error, a lost catalog a failure."""
    from tasks.store.lake import Warehouse
    from tasks.store.writer import LakeMissing, refuse_to_start_over

    home = Warehouse.of(settings)
    try:
        refuse_to_start_over(home)
    except LakeMissing as missing:
        raise CommandFailed(one_line(missing)) from None
    if not home.exists():
        raise UsageProblem(f"no warehouse at {settings.warehouse}: run `wirehouse run` first")
