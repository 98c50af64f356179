"""The SQL, the suites and the Data Docs assets ship inside the package: an installed wirehouse needs no checkout."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

from tasks.settings import Settings
from tests.conftest import ROOT


def test_the_default_folders_are_package_data_holding_every_top_level_file() -> None:
    settings = Settings()
    assert settings.sql == Path(str(files("tasks.store") / "sql"))
    assert settings.expectations == Path(str(files("tasks.quality") / "expectations"))
    for folder, top in ((settings.sql, ROOT / "warehouse" / "sql"), (settings.expectations, ROOT / "expectations")):
        shipped = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        assert shipped == {p.name: p.read_bytes() for p in top.iterdir() if p.is_file()}


def test_the_package_data_globs_cover_what_ships() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert set(declared["tasks.store"]) >= {"sql/*.sql"}
    assert set(declared["tasks.quality"]) >= {"expectations/*.json", "docs_assets/*"}
    suffixes = {p.suffix for p in (ROOT / "warehouse" / "sql").iterdir()} | {
        p.suffix for p in (ROOT / "expectations").iterdir()
    }
    assert suffixes <= {".sql", ".json"}, "a new kind of data file would not ship"
