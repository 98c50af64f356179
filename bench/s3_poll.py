"""Time a no-op poll over a bucket prefix: `python -m bench.s3_poll --n 10000`.

Starts moto's S3 server on a free loopback port, fills a prefix with N small articles, lands them with one
`wirehouse run`, then times a second run (nothing new) and reports how many object GETs it made (should be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="objects under the prefix")
    args = parser.parse_args()

    import logging

    import s3fs
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    requests: list[tuple[str, str]] = []
    backend = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        requests.append((environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")))
        return backend(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
    }
    os.environ.update(
        {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    )
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("bench")
    words = ["harbour", "council", "budget", "school", "election", "river", "station", "museum", "bridge", "festival"]
    fs.pipe(
        {
            f"bench/news/{i:06d}.txt": f"The {words[i % 10]} story number {i} was reported by the town council on Monday.".encode()
            for i in range(args.n)
        }
    )

    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            "--source",
            "s3://bench/news/",
            "--warehouse",
            str(Path(tmp) / "wh"),
            "--min-age",
            "0",
        ]
        timings = []
        for label in ("first (lands everything)", "no-op poll"):
            requests.clear()
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(done.stderr[-2000:])
            discover = re.search(r"discover: .* in ([\d.]+)s", done.stdout + done.stderr)
            gets = sum(1 for method, query in requests if method in {"GET", "HEAD"} and "list-type" not in query)
            lists = sum(1 for method, query in requests if "list-type" in query)
            timings.append(
                {
                    "run": label,
                    "wall_s": round(seconds, 2),
                    "discover_s": float(discover.group(1)) if discover else None,
                    "object_gets": gets,
                    "list_requests": lists,
                }
            )
    server.shutdown()
    print(json.dumps({"objects": args.n, "runs": timings}, indent=2))


if __name__ == "__main__":
    main()
