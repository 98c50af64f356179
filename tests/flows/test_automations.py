"""automations.yaml (the README's alert recipe) is valid for `prefect automation create --from-file`."""

from __future__ import annotations

import yaml
from prefect.automations import AutomationCore

from tests.conftest import ROOT


def test_automations_file_validates_and_triggers_on_failed_runs_and_spikes() -> None:
    specs = yaml.safe_load((ROOT / "automations.yaml").read_text())["automations"]
    automations = [AutomationCore.model_validate(spec) for spec in specs]
    expected = {a.name: set(a.trigger.expect) for a in automations}  # type: ignore[attr-defined]
    assert expected == {
        "wirehouse run failed": {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        "wirehouse quarantine spike": {"wirehouse.quarantine.spike"},
    }
