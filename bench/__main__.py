"""``python -m bench``: the full ``wirehouse run`` against the raw-langdetect all-cores ceiling.

Generates a synthetic source of N articles, measures (a) plain langdetect over the same texts on all
cores and (b) ``wirehouse run`` end to end in a subprocess (Prefect start included), then a no-op
re-run, a run with 1% new files, three DuckDB queries, and two scale checks that need no langdetect
(a no-op poll over 100k landed files, ``GROUP BY language`` over 1M rows before and after compaction).
Prints a table and writes ``bench/results/<time>-n<N>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import corpus, measure, peer, scale
from tasks.offline import OFFLINE_ENV
from tasks.store.lake import Warehouse, query

RESULTS = Path(__file__).resolve().parent / "results"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _count(warehouse: Path, statement: str) -> int:
    with query(Warehouse(warehouse)) as connection:
        row = connection.execute(statement).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles in the synthetic source (default 20,000)")
    parser.add_argument(
        "--sizes", default=None, help="comma-separated N to run one after another (e.g. 100,500,2000,20000)"
    )
    parser.add_argument("--peer", action="store_true", help="also run the plain dlt pipeline on the same files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=_cores(), help="processes for both sides (default: all)")
    parser.add_argument("--runner", choices=["local", "dask"], default="local", help="wirehouse run --runner")
    parser.add_argument("--batch-size", type=int, default=None, help="wirehouse run --batch-size")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--noop-files", type=int, default=100_000, help="files in the no-op poll check (0: skip)")
    parser.add_argument(
        "--enrich-ceiling", action="store_true", help="also time wirehouse's enrichment alone on all cores"
    )
    parser.add_argument("--query-rows", type=int, default=1_000_000, help="rows in the DuckDB check (0: skip)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.n]

    work = args.dir or Path(tempfile.mkdtemp(prefix=f"wirehouse-bench-{'-'.join(map(str, sizes))}-"))
    env = {"PREFECT_HOME": os.environ.get("PREFECT_HOME", str(measure.ROOT / ".prefect")), **OFFLINE_ENV}
    # each run starts its own Prefect server, as the figures say, and leaves none running (unless told otherwise)
    env["WIREHOUSE_PREFECT_SERVER"] = os.environ.get("WIREHOUSE_PREFECT_SERVER", "temporary")
    result: dict[str, Any] = {
        "sizes": sizes,
        "seed": args.seed,
        "workers": args.workers,
        "runner": args.runner,
        "prefect_server": env["WIREHOUSE_PREFECT_SERVER"],
        "machine": {"cores": _cores(), "python": platform.python_version(), "platform": platform.platform()},
        "load_before": os.getloadavg(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": [],
    }
    if args.peer:
        peer.python()  # the virtualenv is made before anything is timed
    for n in sizes:
        result["runs"].append(_one_size(n, args, work / f"n{n}", env))
    _scale_checks(args, work, env, result)
    result["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-n{'-'.join(map(str, sizes))}-{args.runner}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    scale_checks = {key: result[key] for key in ("noop_scale", "query_scale") if key in result}
    for index, run in enumerate(result["runs"]):
        _table(run | (scale_checks if index == len(result["runs"]) - 1 else {}))
    if args.peer:
        _side_by_side(result)
    print(f"results: {out}")
    if args.dir is None:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def _one_size(n: int, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Ceiling, wirehouse (and the peer) on one source of ``n`` files: first run, no-op, +1% new files."""
    source, warehouse = work / "source", work / "warehouse"
    shutil.rmtree(work, ignore_errors=True)
    run_args = ["run", "--source", str(source), "--warehouse", str(warehouse), "--min-age", "0"]
    run_args += ["--workers", str(args.workers), "--runner", args.runner]
    if args.batch_size:
        run_args += ["--batch-size", str(args.batch_size)]
    result: dict[str, Any] = {"n": n, "workers": args.workers, "runner": args.runner, "machine": {"cores": _cores()}}
    print(f"bench: N={n} workers={args.workers} runner={args.runner} in {work}  (load {os.getloadavg()})")
    result["load_before"] = os.getloadavg()
    started = time.perf_counter()
    result["corpus"] = corpus.write(source, n, seed=args.seed)
    result["corpus"]["seconds"] = round(time.perf_counter() - started, 2)
    print(f"  corpus: {result['corpus']}")

    texts, seconds = measure.ceiling(corpus.texts(n, seed=args.seed), args.workers)
    result["ceiling"] = {"texts": texts, "seconds": round(seconds, 3), "per_s": round(texts / seconds, 1)}
    print(f"  ceiling: {texts} texts in {seconds:.1f}s")

    if args.enrich_ceiling:
        jobs = ((i.path, i.data) for i in corpus.generate(n, seed=args.seed) if i.kind == "article")
        count, seconds = measure.enrich_ceiling(jobs, args.workers)
        result["enrich_ceiling"] = {"articles": count, "seconds": round(seconds, 3), "per_s": round(count / seconds, 1)}
        print(f"  enrichment alone: {count} articles in {seconds:.1f}s")

    full = measure.wirehouse(*run_args, env=env)
    if full.returncode:
        print(full.stdout_tail, full.stderr_tail)
        raise SystemExit(f"wirehouse run failed ({full.returncode})")
    articles = _count(warehouse, "SELECT count(*) FROM articles")
    result["run"] = {**measure.as_dict(full), "articles": articles, "per_s": round(articles / full.seconds, 1)}
    result["ratio"] = round(result["run"]["per_s"] / result["ceiling"]["per_s"], 3)
    print(f"  run: {articles} articles in {full.seconds:.1f}s, peak RSS {full.peak_rss_tree_mb} MB (tree)")

    noop = measure.wirehouse(*run_args, env=env)
    result["noop"] = measure.as_dict(noop)
    print(f"  no-op re-run: {noop.seconds:.1f}s")

    if args.peer:
        first, again = peer.run(source, work / "peer"), peer.run(source, work / "peer")
        result["peer"] = {"run": measure.as_dict(first), "noop": measure.as_dict(again)}
        result["peer"]["articles"] = peer.articles(work / "peer")
        print(f"  peer: first {first.seconds:.1f}s ({first.peak_rss_tree_mb} MB), no-op {again.seconds:.1f}s")

    extra = max(1, n // 100)
    result["incremental_corpus"] = corpus.write(source, n + extra, seed=args.seed, start=n)
    incremental = measure.wirehouse(*run_args, env=env)
    result["incremental"] = {**measure.as_dict(incremental), "new_files": extra}
    print(f"  1% new ({extra} files): {incremental.seconds:.1f}s")
    if args.peer:
        result["peer"]["incremental"] = measure.as_dict(peer.run(source, work / "peer"))
        print(f"  peer 1% new: {result['peer']['incremental']['seconds']:.1f}s")

    result["queries"] = measure.queries(Warehouse(warehouse))
    print(f"  queries: {result['queries']}")
    result["load_after"] = os.getloadavg()
    return result


def _scale_checks(args: argparse.Namespace, work: Path, env: dict[str, str], result: dict[str, Any]) -> None:
    """The checks that need no langdetect: a no-op poll over many landed files, GROUP BY over many articles."""
    if args.noop_files:
        scale_source, scale_warehouse = work / "noop-source", work / "noop-warehouse"
        shutil.rmtree(scale_source, ignore_errors=True)
        shutil.rmtree(scale_warehouse, ignore_errors=True)
        from tasks.settings import Settings

        home = Warehouse(scale_warehouse)
        scale.landed_source(scale_source, home, args.noop_files)
        result["noop_scale"] = {"in_process": scale.noop_discovery(scale_source, home, Settings())}
        poll = measure.wirehouse(
            "run", "--source", str(scale_source), "--warehouse", str(scale_warehouse), "--min-age", "0", env=env
        )
        empty_source = work / "empty-source"
        empty_source.mkdir(exist_ok=True)
        baseline = measure.wirehouse(
            "run", "--source", str(empty_source), "--warehouse", str(work / "empty-warehouse"), env=env
        )
        result["noop_scale"].update(
            {"run_s": poll.seconds, "empty_run_s": baseline.seconds, "beyond_empty_s": poll.seconds - baseline.seconds}
        )
        print(f"  no-op poll over {args.noop_files} landed files: {result['noop_scale']}")
    if args.query_rows:
        big = Warehouse(work / "query-warehouse")
        shutil.rmtree(big.root, ignore_errors=True)
        result["query_scale"] = scale.million_articles(big, args.query_rows)
        q = result["query_scale"]
        print(
            f"  {args.query_rows} rows in {q['batches']} commits: {q['data_files_before']} data files {q['before']}; "
            f"compacted in {q['compact_s']:.1f}s to {q['data_files_after']} {q['after']}"
        )


def _side_by_side(result: dict[str, Any]) -> None:
    """One table: each size's first run, no-op and +1% for wirehouse, the dlt peer and the ceiling."""
    print(f"\nwirehouse vs the dlt peer · {result['machine']['cores']} cores · workers {result['workers']}")
    print("  | N | step | wirehouse | dlt peer | ceiling | peer ÷ wirehouse |")
    print("  |---:|---|---:|---:|---:|---:|")
    for run in result["runs"]:
        steps = (
            ("first run", "run"),
            ("no-op re-run", "noop"),
            (f"+1% ({run['incremental']['new_files']})", "incremental"),
        )
        for label, key in steps:
            ours, theirs = run[key]["seconds"], run["peer"][key]["seconds"]
            ceiling = f"{run['ceiling']['seconds']:.1f} s" if key == "run" else ""
            print(f"  | {run['n']:,} | {label} | {ours:.1f} s | {theirs:.1f} s | {ceiling} | {theirs / ours:.2f} |")
        for label, key in (("peak RSS of the tree", "peak_rss_tree_mb"), ("peak PSS of the tree", "peak_pss_tree_mb")):
            ours_mb, theirs_mb = run["run"][key], run["peer"]["run"][key]
            print(
                f"  | {run['n']:,} | {label} | {ours_mb:,.0f} MB | {theirs_mb:,.0f} MB | | {ours_mb - theirs_mb:+,.0f} MB |"
            )


def _table(r: dict[str, Any]) -> None:
    rows = [
        (
            "ceiling: langdetect on all cores",
            f"{r['ceiling']['per_s']:.0f} articles/s ({r['ceiling']['seconds']:.1f} s)",
        ),
        *(
            [("enrichment alone on all cores (no orchestration)", f"{r['enrich_ceiling']['per_s']:.0f} articles/s")]
            if "enrich_ceiling" in r
            else []
        ),
        ("wirehouse run, end to end", f"{r['run']['per_s']:.0f} articles/s ({r['run']['seconds']:.1f} s)"),
        ("ratio run / ceiling", f"{r['ratio']:.2f}"),
        ("peak RSS (CLI + workers + Prefect server)", f"{r['run']['peak_rss_tree_mb']:.0f} MB"),
        ("peak RSS (CLI process alone)", f"{r['run']['peak_rss_main_mb']:.0f} MB"),
        ("peak PSS (the tree, shared pages divided)", f"{r['run']['peak_pss_tree_mb']:.0f} MB"),
        ("no-op re-run", f"{r['noop']['seconds']:.1f} s"),
        (f"run with 1% new files ({r['incremental']['new_files']})", f"{r['incremental']['seconds']:.1f} s"),
    ]
    rows += [
        (f"query: {name}", f"{q['best_ms']:.0f} ms (first {q['first_ms']:.0f})") for name, q in r["queries"].items()
    ]
    if "noop_scale" in r:
        s = r["noop_scale"]
        rows.append(
            (
                f"no-op poll, {s['in_process']['files']} landed files",
                f"discover+diff {s['in_process']['total_s']:.2f} s; run {s['run_s']:.1f} s vs empty {s['empty_run_s']:.1f} s",
            )
        )
    if "query_scale" in r:
        s = r["query_scale"]
        for when, files in (("before", s["data_files_before"]), ("after", s["data_files_after"])):
            q = s[when]["articles per language"]
            rows.append(
                (
                    f"GROUP BY language, {s['rows']} rows, {when} compaction",
                    f"{q['best_ms']:.0f} ms (first {q['first_ms']:.0f}), {files} data files",
                )
            )
    width = max(len(name) for name, _ in rows)
    print(f"\nN={r['n']} · {r['machine']['cores']} cores · workers {r['workers']} · runner {r['runner']}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
