"""`make eval`: how well paperhub ranks, against baselines, on readers and queries whose answers we know.

    python -m bench.eval [--only digests,search] [--scale 0.1]

Each part lives in its own module (bench/eval_digests.py, bench/eval_search.py)
and returns its figures as {name: value}; with more than one part, each runs in
a child process of its own (each sets Django up on its own database). Each figure is printed as
`EVAL <name> <value>` as soon as its part is done, and all of them are written
to bench/eval_results.json (not committed). Like `make bench`, never part of
`make test` or CI: it measures quality, not correctness, and takes minutes.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "eval_results.json"
PARTS = {"digests": "bench.eval_digests", "search": "bench.eval_search"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=os.environ.get("EVAL_ONLY", ",".join(PARTS)))
    parser.add_argument("--scale", type=float, default=float(os.environ.get("EVAL_SCALE", "0.1")))
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {sorted(PARTS)}")
    sys.path.insert(0, str(ROOT))
    figures: dict[str, float] = {}
    failed = []
    if len(only) > 1:
        # Each part configures Django for its own database: one child process a part.
        for name in only:
            child = subprocess.run(
                [sys.executable, "-m", "bench.eval", "--only", name, "--scale", str(args.scale)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for line in child.stdout.splitlines():
                print(line, flush=True)
                if line.startswith("EVAL ") and not line.endswith(" FAILED"):
                    _, figure, value = line.split(" ", 2)
                    figures[figure] = float(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
            if child.returncode:
                failed.append(name)
        only = []
    for name in only:
        try:
            part = importlib.import_module(PARTS[name])
            for figure, value in part.run(args).items():
                if isinstance(value, float):
                    value = round(value, 3)
                figures[figure] = value
                print(f"EVAL {figure} {value}", flush=True)
        except Exception:  # one part failing must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            print(f"EVAL {name} FAILED", flush=True)
    RESULTS.write_text(
        json.dumps({"when": datetime.now(UTC).isoformat(), "scale": args.scale, "figures": figures}, indent=2) + "\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
