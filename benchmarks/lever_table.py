"""The lever table of docs/training.md: runs compared on the door-blocking proxies at one budget.

    .venv/bin/python benchmarks/lever_table.py RUN_DIR [RUN_DIR ...] --at 20000000 [--window 10]

Each RUN_DIR is a `hideseek train` run directory. For each, it reads `scalars.jsonl` and prints,
for the updates up to the budget (`--at` agent-steps), the mean over the last `--window` updates
of each proxy: boxes locked by hiders at the end of prep, the largest box displacement in prep,
the hidden fraction, doors blocked at the end of prep and the room sealed; then the run's
throughput. Rows are grouped by the run's name (its `name=` override), so seeds of one lever
make one group whose mean and spread close it. A run that has not reached the budget says so.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

PROXIES = ("boxes_locked_prep_by_hiders", "max_box_displacement_prep", "hidden_fraction",
           "doors_blocked_prep", "room_sealed_prep")


def proxies_at(run: Path, budget: int, window: int) -> tuple[dict[str, float], dict]:
    records = [json.loads(line) for line in (run / "scalars.jsonl").read_text().splitlines()
               if line.strip()]
    upto = [r for r in records if r["agent_steps"] <= budget]
    if not upto or records[-1]["agent_steps"] < budget * 0.98:
        reached = records[-1]["agent_steps"] if records else 0
        raise SystemExit(f"{run}: reached {reached:,} agent-steps, not the budget {budget:,}")
    last = upto[-window:]
    values = {p: statistics.fmean(r[f"episode/{p}"] for r in last) for p in PROXIES}
    minutes = upto[-1].get("minutes", 0.0)
    return values, {"agent_steps": upto[-1]["agent_steps"], "minutes": minutes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--at", type=int, default=20_000_000, help="budget in agent-steps")
    ap.add_argument("--window", type=int, default=10, help="updates averaged at the budget")
    ap.add_argument("--alias", action="append", default=[], metavar="NAME=LEVER",
                    help="count runs named NAME as LEVER (e.g. a long run as one baseline seed)")
    args = ap.parse_args()
    alias = dict(a.split("=", 1) for a in args.alias)
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    print(f"proxies at {args.at:,} agent-steps (mean of the last {args.window} updates)")
    print("run | " + " | ".join(PROXIES) + " | minutes")
    for run in args.runs:
        config = (run / "config.yaml").read_text()
        name = next((line.split(":", 1)[1].strip() for line in config.splitlines()
                     if line.startswith("name:")), run.name)
        values, meta = proxies_at(run, args.at, args.window)
        groups[alias.get(name, name)].append(values)
        print(f"{run.name} | " + " | ".join(f"{values[p]:.3f}" for p in PROXIES)
              + f" | {meta['minutes']:.1f}")
    print("lever (seeds) | " + " | ".join(PROXIES))
    for name, rows in groups.items():
        cells = []
        for p in PROXIES:
            xs = [r[p] for r in rows]
            spread = f" ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else ""
            cells.append(f"{statistics.fmean(xs):.3f}{spread}")
        print(f"{name} ({len(rows)}) | " + " | ".join(cells))


if __name__ == "__main__":
    main()
