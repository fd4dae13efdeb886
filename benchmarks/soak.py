"""Soak run: ``hideseek train`` for a long time while its memory and open files are sampled.

    .venv/bin/python benchmarks/soak.py --minutes 60 [--interval 5] [--warmup 5] [--bin 4]
    .venv/bin/python benchmarks/soak.py --minutes 20 --env builds/twin/HideAndSeekTwin.x86_64 \
        --num-envs 2
    (extra ``key=value`` arguments go to the trainer, e.g. num_arenas=32)

Starts ``hideseek train --config configs/train/quadrant.yaml max_minutes=M torch_threads=1
plot=false baseline_arenas=0 progress=false`` (plus ``--env``/``--num-envs`` through the
ML-Agents protocol), and every ``--interval`` seconds reads from /proc the resident memory (RSS)
and the number of open file descriptors of the trainer and, separately, of all its descendants
(the Unity or twin worker processes). After ``--warmup`` minutes it fits a line to the peak of
each ``--bin``-minute bin of each series and reports the growth per hour (goal: flat, < 50 MB/h
RSS, no FD growth), and compares the training
throughput (agent-steps/s from the run's scalars.jsonl) over the first and the last
``--window`` minutes after warm-up. Samples go to OUT/soak_samples.jsonl, the summary to
OUT/soak_summary.json and stdout. The machine is shared: throughput swings with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HIDESEEK = Path(sys.executable).with_name("hideseek")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    """parent pid -> child pids, for every process visible in /proc."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces or parentheses: the fields follow the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_mb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE_KB / 1024


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def sample(pid: int, t0: float) -> dict:
    kids = descendants(pid)
    return {"t_min": (time.monotonic() - t0) / 60, "trainer_rss_mb": rss_mb(pid),
            "trainer_fds": open_fds(pid), "workers": len(kids),
            "workers_rss_mb": sum(rss_mb(k) for k in kids),
            "workers_fds": sum(open_fds(k) for k in kids)}


def per_hour(samples: list[dict], key: str, warmup: float, bin_minutes: float) -> float:
    """Growth per hour of the peaks: the largest value in each full ``bin_minutes`` bin after
    warm-up, fitted by least squares. (The trainer's RSS swings by hundreds of MB between the
    rollout and the update phase as the allocator returns memory; a leak raises the peaks.)"""
    after = [s for s in samples if s["t_min"] >= warmup]
    if not after:
        return float("nan")
    full = int((after[-1]["t_min"] - warmup) // bin_minutes)
    peaks: dict[int, float] = {}
    for s in after:
        b = int((s["t_min"] - warmup) // bin_minutes)
        if b < full:
            peaks[b] = max(peaks.get(b, -np.inf), s[key])
    if len(peaks) < 3:
        return float("nan")
    t = warmup + (np.array(sorted(peaks)) + 0.5) * bin_minutes
    y = np.array([peaks[b] for b in sorted(peaks)])
    return float(np.polyfit(t, y, 1)[0] * 60)


def throughput(scalars: list[dict], start: float, stop: float) -> float:
    """Agent-steps per second of training between minutes ``start`` and ``stop``."""
    rows = [r for r in scalars if start <= r["minutes"] <= stop]
    if len(rows) < 2:
        return float("nan")
    return (rows[-1]["agent_steps"] - rows[0]["agent_steps"]) / (
        (rows[-1]["minutes"] - rows[0]["minutes"]) * 60)


def run_dir_of(out: Path) -> Path | None:
    runs = sorted(p for p in out.iterdir() if p.is_dir() and (p / "config.yaml").exists())
    return runs[-1] if runs else None


def summarize(out: Path, warmup: float, window: float, command: str, exit_code: int | None,
              bin_minutes: float = 4.0) -> dict:
    """The report from OUT's samples and the run's scalars (also for an earlier soak, with
    other ``warmup``/``window``: ``--summarize OUT``)."""
    samples = [json.loads(line) for line in (out / "soak_samples.jsonl").read_text().splitlines()
               if line.strip()]
    run_dir = run_dir_of(out)
    scalars = []
    if run_dir is not None and (run_dir / "scalars.jsonl").exists():
        scalars = [json.loads(line) for line in (run_dir / "scalars.jsonl").read_text().splitlines()
                   if line.strip()]
    end = scalars[-1]["minutes"] if scalars else float("nan")
    sps_start = throughput(scalars, warmup, warmup + window)
    sps_end = throughput(scalars, end - window, end)
    after = [s for s in samples if s["t_min"] >= warmup]
    return {
        "command": command, "exit_code": exit_code, "run_dir": str(run_dir),
        "minutes_sampled": samples[-1]["t_min"] if samples else 0.0, "samples": len(samples),
        "warmup_minutes": warmup, "bin_minutes": bin_minutes, "updates": scalars[-1]["update"] if scalars else 0,
        "trainer_rss_mb_after_warmup": after[0]["trainer_rss_mb"] if after else None,
        "trainer_rss_mb_end": samples[-1]["trainer_rss_mb"] if samples else None,
        "trainer_rss_mb_max": max((s["trainer_rss_mb"] for s in samples), default=None),
        "trainer_rss_mb_per_hour": per_hour(samples, "trainer_rss_mb", warmup, bin_minutes),
        "trainer_fds_per_hour": per_hour(samples, "trainer_fds", warmup, bin_minutes),
        "trainer_fds_min_max": [min((s["trainer_fds"] for s in after), default=None),
                                max((s["trainer_fds"] for s in after), default=None)],
        "workers_rss_mb_end": samples[-1]["workers_rss_mb"] if samples else None,
        "workers_rss_mb_per_hour": per_hour(samples, "workers_rss_mb", warmup, bin_minutes),
        "workers_fds_per_hour": per_hour(samples, "workers_fds", warmup, bin_minutes),
        "workers_fds_min_max": [min((s["workers_fds"] for s in after), default=None),
                                max((s["workers_fds"] for s in after), default=None)],
        "sps_start": sps_start, "sps_end": sps_end, "sps_end_over_start": sps_end / sps_start,
        "goal_rss_mb_per_hour": 50.0,
    }


def report(out: Path, summary: dict) -> None:
    (out / "soak_summary.json").write_text(json.dumps(summary, indent=1))
    for key, value in summary.items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="training time (max_minutes)")
    p.add_argument("--interval", type=float, default=5.0,
                   help="seconds between samples (short enough to catch each update's peak)")
    p.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the fits")
    p.add_argument("--window", type=float, default=5.0,
                   help="minutes of throughput compared at the start and the end")
    p.add_argument("--bin", type=float, default=4.0,
                   help="minutes per bin whose peak enters the growth fits")
    p.add_argument("--env", default=None, help="Unity build or twin launcher (ML-Agents path)")
    p.add_argument("--num-envs", type=int, default=2)
    p.add_argument("--config", default=str(REPO / "configs/train/quadrant.yaml"))
    p.add_argument("--out", default=None, help="folder for the run and the samples")
    p.add_argument("--summarize", default=None, metavar="OUT",
                   help="only recompute the report of an earlier soak's folder")
    p.add_argument("overrides", nargs="*", help="extra trainer overrides key=value")
    args = p.parse_args()
    if args.summarize:
        out = Path(args.summarize)
        old = json.loads((out / "soak_summary.json").read_text()) \
            if (out / "soak_summary.json").exists() else {}
        report(out, summarize(out, args.warmup, args.window, old.get("command", "?"),
                              old.get("exit_code"), args.bin))
        return 0
    if args.minutes <= args.warmup + 2 * args.window:
        p.error(f"--minutes {args.minutes}: expected more than --warmup + 2 x --window "
                f"({args.warmup + 2 * args.window})")
    out = Path(args.out or REPO / "runs" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(HIDESEEK), "train", "--config", args.config,
           f"max_minutes={args.minutes}", "torch_threads=1", "plot=false", "baseline_arenas=0",
           "progress=false", f"out_dir={out}", *args.overrides]
    if args.env:
        cmd[2:2] = ["--env", args.env, "--num-envs", str(args.num_envs)]
    print("soak:", " ".join(cmd), flush=True)
    log = open(out / "train.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    t0 = time.monotonic()
    try:
        with open(out / "soak_samples.jsonl", "w") as fh:
            while proc.poll() is None:
                fh.write(json.dumps(sample(proc.pid, t0)) + "\n")
                fh.flush()
                time.sleep(args.interval)
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)  # the trainer checkpoints and exits
        proc.wait(timeout=300)
    log.close()
    report(out, summarize(out, args.warmup, args.window, " ".join(cmd), proc.returncode,
                          args.bin))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
