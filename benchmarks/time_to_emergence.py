"""Time to emergence of a training run: the README's table, read from the run's own records.

    .venv/bin/python benchmarks/time_to_emergence.py RUN_DIR \
        [--other-rate 2560000 --other-label "H200, compiled CUDA-graph twin"]

For each of OpenAI's phases that `hideseek plot` detects (a statistic passing a margin above
random play, `hideseek.plots.PHASES`) and for the door-blocking goal itself (`room_sealed_prep`,
smoothed as the dashboard smooths it, passing 0.25 and 0.50), it prints the first update, the
agent-steps and the wall-clock minutes of training at which it happened on the machine that ran
the run. With `--other-rate`, a further column extrapolates the wall-clock on another machine
from its measured training throughput (agent-steps/s): labelled as extrapolated, never measured.
Milestones the run has not reached are printed as such, with where the statistic stands.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hideseek.plots import (PHASES, phase_threshold, phase_transitions, read_scalars, series,
                            smooth)

# The door-blocking issue's goal: the room sealed at the end of prep in a quarter, then half, of
# the episodes.
SEALED_LEVELS = (0.25, 0.50)
SEALED_KEY = "episode/room_sealed_prep"


def milestones(records: list[dict], baseline: dict | None) -> list[dict]:
    """One row per milestone: name, statistic, threshold, and (when reached) update, agent_steps,
    minutes; unreached rows carry the statistic's last smoothed value instead."""
    found = phase_transitions(records, baseline)
    minutes_at = {r["agent_steps"]: r["minutes"] for r in records}
    rows = []
    for phase, key, margin in PHASES:
        row = {"milestone": phase, "statistic": key,
               "threshold": phase_threshold(key, margin, baseline)}
        if phase in found:
            row.update(update=found[phase]["update"], agent_steps=found[phase]["agent_steps"])
        rows.append(row)
    x, y = series(records, SEALED_KEY)
    sealed = smooth(y) if len(y) else y
    for level in SEALED_LEVELS:
        row = {"milestone": f"room sealed in {level:.0%} of episodes", "statistic": SEALED_KEY,
               "threshold": level}
        above = np.flatnonzero(sealed >= level) if len(sealed) else []
        if len(above):
            steps = int(x[above[0]])
            row.update(agent_steps=steps,
                       update=next(r["update"] for r in records if r["agent_steps"] == steps))
        rows.append(row)
    for row in rows:
        if "agent_steps" in row:
            row["minutes"] = minutes_at[row["agent_steps"]]
        else:
            xs, ys = series(records, row["statistic"])
            row["last"] = float(smooth(ys)[-1]) if len(ys) else None
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--other-rate", type=float, default=None,
                    help="training throughput of another machine, agent-steps/s (extrapolation)")
    ap.add_argument("--other-label", default="other machine")
    args = ap.parse_args()
    records = read_scalars(args.run_dir)
    if not records:
        raise SystemExit(f"{args.run_dir / 'scalars.jsonl'}: no records yet")
    baseline_path = args.run_dir / "baseline.json"
    baseline = json.loads(baseline_path.read_text()) if baseline_path.is_file() else None
    last = records[-1]
    print(f"run {args.run_dir}: {last['update']} updates, {last['agent_steps']:,} agent-steps, "
          f"{last['minutes']:.1f} min of training")
    header = "| milestone | statistic > threshold | update | agent-steps | minutes (measured) |"
    if args.other_rate:
        header += f" minutes on {args.other_label} (extrapolated) |"
    print(header)
    print("|" + " --- |" * header.count(" |"))
    for row in milestones(records, baseline):
        threshold = "—" if row["threshold"] is None else f"{row['threshold']:.3g}"
        statistic = row["statistic"].replace("episode/", "")  # "-hider_return": the seekers'
        cells = [row["milestone"], f"`{statistic}` > {threshold}"]
        if "agent_steps" in row:
            cells += [str(row["update"]), f"{row['agent_steps'] / 1e6:.1f} M", f"{row['minutes']:.1f}"]
            if args.other_rate:
                cells.append(f"{row['agent_steps'] / args.other_rate / 60:.2g}")
        else:
            stands = "—" if row["last"] is None else f"{row['last']:.3g}"
            cells += ["not reached", f"> {last['agent_steps'] / 1e6:.1f} M", f"now {stands}"]
            if args.other_rate:
                cells.append(f"> {last['agent_steps'] / args.other_rate / 60:.2g}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
