"""``wirehouse report``: one self-contained HTML page with charts, drawn as inline SVG (no CDN, no JS).

Every number comes from a query in ``warehouse/sql/report_*.sql``; this module only draws.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tasks.store.lake import Warehouse, query

PALETTE = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395")
RUNS_SHOWN = 40


@dataclass(slots=True)
class ReportData:
    totals: dict[str, int]
    runs: list[dict[str, Any]]
    languages: list[tuple[str, int]]
    quarantine: dict[str, dict[str, int]]  # flow_run_id → reason_code → rows
    validations: dict[str, dict[str, tuple[int, int]]]  # flow_run_id → suite → (evaluated, failed)
    entities: list[tuple[str, int]]  # most mentioned, with their mentions
    countries: list[tuple[str, int]]  # articles per country
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / f"report_{name}.sql").read_text(encoding="utf-8")


def _rows(connection: duckdb.DuckDBPyConnection, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    result = connection.execute(statement, list(params))
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def collect(warehouse: Warehouse, sql_dir: Path) -> ReportData:
    """Run the report queries (the writer's schema evolution gives every warehouse the columns they read)."""
    with query(warehouse) as connection:
        totals = _rows(connection, _sql(sql_dir, "totals"))[0]
        runs = _rows(connection, _sql(sql_dir, "runs"), [RUNS_SHOWN])
        languages = [(r["language"], int(r["articles"])) for r in _rows(connection, _sql(sql_dir, "languages"))]
        quarantine: dict[str, dict[str, int]] = defaultdict(dict)
        for r in _rows(connection, _sql(sql_dir, "quarantine")):
            quarantine[r["flow_run_id"]][r["reason_code"]] = int(r["rows"])
        validations: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for r in _rows(connection, _sql(sql_dir, "validations")):
            validations[r["flow_run_id"]][r["suite"]] = (int(r["evaluated_rows"]), int(r["failed_rows"]))
        entities = [(str(e), int(n)) for e, n in connection.execute(_sql(sql_dir, "entities")).fetchall()]
        countries = [(str(c), int(n)) for c, n in connection.execute(_sql(sql_dir, "countries")).fetchall()]
    return ReportData(
        {k: int(v or 0) for k, v in totals.items()},
        runs,
        languages,
        dict(quarantine),
        dict(validations),
        entities,
        countries,
    )


# --- drawing -------------------------------------------------------------------------------------------------

_W, _H, _LEFT, _BOTTOM, _TOP = 760, 260, 48, 56, 16


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _axis(max_value: float, height: int, percent: bool = False) -> str:
    parts = []
    for i in range(5):
        value = max_value * i / 4
        y = _TOP + height - height * i / 4
        label = f"{value:.0f}%" if percent else (f"{value:.0f}" if max_value >= 4 else f"{value:.1f}")
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{label}</text>'
        )
    return "".join(parts)


def _empty(message: str) -> str:
    return f'<p class="empty">{_e(message)}</p>'


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str) -> str:
    """Vertical bars, one per label, stacked by series; an SVG with tooltips and a legend."""
    if not labels or not series:
        return _empty("no data yet")
    height = _H - _TOP - _BOTTOM
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(max(totals), 1)
    step = (_W - _LEFT - 8) / len(labels)
    width = max(2.0, min(40.0, step * 0.7))
    bars = []
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    for i, label in enumerate(labels):
        x = _LEFT + step * i + (step - width) / 2
        y: float = _TOP + height
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = height * value / top
            y -= h
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{colors[name]}">'
                f"<title>{_e(label)}: {_e(name)} {value:g}</title></rect>"
            )
        if len(labels) <= 12 or i % max(1, len(labels) // 12) == 0:
            bars.append(
                f'<text x="{x + width / 2:.1f}" y="{_TOP + height + 14}" class="tick" text-anchor="end" '
                f'transform="rotate(-35 {x + width / 2:.1f} {_TOP + height + 14})">{_e(label)}</text>'
            )
    legend = "".join(
        f'<span class="key"><i style="background:{color}"></i>{_e(name)}</span>' for name, color in colors.items()
    )
    return (
        f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{_e(title)}">{_axis(top, height)}{"".join(bars)}</svg>'
        + f'<div class="legend">{legend}</div>'
    )


def horizontal_bars(items: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> str:
    """Ranked horizontal bars (languages, entities, countries)."""
    if not items:
        return _empty("no data yet")
    row = 22
    label_width = 210
    height = row * len(items) + 8
    top = max(value for _, value in items) or 1
    span = _W - label_width - 60
    parts = []
    for i, (label, value) in enumerate(items):
        y = 4 + row * i
        w = max(1.0, span * value / top)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" class="label" text-anchor="end">{_e(_clip(label))}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}">'
            f"<title>{_e(label)}: {value:g}{unit}</title></rect>"
            f'<text x="{label_width + w + 5:.1f}" y="{y + 15}" class="value">{value:g}</text>'
        )
    return f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="{_e(title)}">{"".join(parts)}</svg>'


def lines(labels: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str) -> str:
    """Percent lines over runs (validation success rate per suite)."""
    if not labels or not series:
        return _empty("no validations yet")
    height = _H - _TOP - _BOTTOM
    step = (_W - _LEFT - 24) / max(1, len(labels) - 1)
    parts = [_axis(100, height, percent=True)]
    keys = []
    for n, (name, values) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        points = [
            (_LEFT + 8 + step * i, _TOP + height - height * v / 100, v) for i, v in enumerate(values) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>{_e(name)}: {v:.1f}%</title></circle>'
            for x, y, v in points
        ]
        keys.append(f'<span class="key"><i style="background:{color}"></i>{_e(name)}</span>')
    return (
        f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{_e(title)}">{"".join(parts)}</svg>'
        f'<div class="legend">{"".join(keys)}</div>'
    )


def _run_label(run: dict[str, Any]) -> str:
    started = run["started_at"]
    return started.strftime("%m-%d %H:%M") if isinstance(started, datetime) else str(started)


def render(data: ReportData, *, title: str = "wirehouse report") -> str:
    """The whole page as one HTML string."""
    runs = data.runs
    labels = [_run_label(r) for r in runs]
    articles_chart = stacked_bars(
        labels,
        {"articles landed": [r["articles"] for r in runs], "files quarantined": [r["quarantined"] for r in runs]},
        title="articles per run",
    )
    reasons = sorted({code for run in runs for code in data.quarantine.get(run["flow_run_id"], {})})
    quarantine_chart = stacked_bars(
        labels if reasons else [],
        {code: [data.quarantine.get(r["flow_run_id"], {}).get(code, 0) for r in runs] for code in reasons},
        title="quarantine reasons per run",
    )
    suites = sorted({suite for run in runs for suite in data.validations.get(run["flow_run_id"], {})})

    def rate(run: dict[str, Any], suite: str) -> float | None:
        evaluated, failed = data.validations.get(run["flow_run_id"], {}).get(suite, (0, 0))
        return 100 * (1 - failed / evaluated) if evaluated else None

    validation_chart = lines(
        labels if suites else [], {s: [rate(r, s) for r in runs] for s in suites}, title="validation success rate"
    )
    sections = [
        ("Articles per run", articles_chart, "Articles landed and files quarantined by each run, oldest first."),
        ("Languages", horizontal_bars(data.languages, title="articles per language"), "Current articles by language."),
        ("Quarantine reasons over time", quarantine_chart, "Quarantined files and rows per run, by reason_code."),
        ("Validation success rate", validation_chart, "Share of rows passing each Great Expectations suite, per run."),
        ("Top entities", horizontal_bars(data.entities, title="top entities"), "Most mentioned."),
        ("Countries", horizontal_bars(data.countries, title="countries"), "Articles per country."),
    ]
    cards = "".join(
        f'<div class="card"><b>{value:,}</b><span>{_e(name.replace("_", " "))}</span></div>'
        for name, value in data.totals.items()
    )
    body = "".join(
        f'<section><h2>{_e(h)}</h2><p class="note">{_e(note)}</p>{chart}</section>' for h, chart, note in sections
    )
    table = "".join(
        f"<tr><td>{_e(_run_label(r))}</td><td>{_e(r['name'])}</td><td class='{_e(r['status'])}'>{_e(r['status'])}</td>"
        f"<td>{r['new_files']}</td><td>{r['articles']}</td><td>{r['quarantined']}</td><td>{r['seconds']:.1f}</td></tr>"
        for r in reversed(runs)
    )
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><link rel="icon" href="data:,"><style>{_CSS}</style></head>
<body><header><h1>{_e(title)}</h1><p class="note">generated {generated}</p></header>
<div class="cards">{cards}</div>{body}
<section><h2>Recent runs</h2><table><thead><tr><th>started</th><th>run</th><th>status</th><th>new files</th>
<th>articles</th><th>quarantined</th><th>seconds</th></tr></thead><tbody>{table}</tbody></table></section>
</body></html>
"""


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:900px;padding:1rem 1.5rem;
color:#1f2933;background:#fff}
h1{margin:.2rem 0}h2{margin:1.6rem 0 .2rem;font-size:1.15rem}.note{color:#627d98;margin:.1rem 0 .5rem}
.cards{display:flex;gap:.75rem;flex-wrap:wrap}.card{border:1px solid #d9e2ec;border-radius:8px;padding:.5rem .9rem;
min-width:7rem}.card b{display:block;font-size:1.5rem}.card span{color:#627d98}
svg{width:100%;height:auto;display:block}.grid{stroke:#e4e7eb}.tick,.value{font-size:11px;fill:#52606d}
.label{font-size:12px;fill:#1f2933}.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:12px}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.empty{color:#9aa5b1;font-style:italic}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #e4e7eb;padding:.25rem .4rem;text-align:left}td.failed,td.crashed{color:#c81e1e}
"""


def write_report(warehouse: Warehouse, sql_dir: Path, target: Path | None = None) -> Path:
    """Query the warehouse and write the report (default ``<warehouse>/report.html``) atomically."""
    target = target or warehouse.root / "report.html"
    page = render(collect(warehouse, sql_dir))
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target


def build_docs(warehouse: Warehouse, sql_dir: Path, expectations_dir: Path, *, validate: bool = True) -> Path:
    """Data Docs for the warehouse: run each table's Checkpoint over what it holds now, then rebuild the site.

    Returns ``<warehouse>/docs/index.html``. With ``validate=False`` only the stored results are re-rendered.
    """
    from tasks.quality.suites import DataDocs

    docs = DataDocs(expectations_dir, warehouse.root, warehouse.root / "docs")
    if validate:
        with query(warehouse) as connection:
            for table in docs.checkpoints:
                statement = sql_dir / f"docs_{table}.sql"
                if not statement.exists():
                    continue
                data: pa.Table = connection.sql(statement.read_text(encoding="utf-8")).to_arrow_table()
                columns = [c for c in docs.columns(table) if c in data.column_names]
                if data.num_rows:
                    docs.run_checkpoint(table, data.select(columns), run_name="wirehouse docs")
    return docs.build()


def _clip(label: str, width: int = 30) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
