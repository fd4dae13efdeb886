"""Fault injection through the ML-Agents protocol during real training.

    .venv/bin/python benchmarks/fault_injection.py [--minutes 10] [--num-envs 4]
        [--mean-steps 150] [--timeout-wait 30] [--seed 0] [--out DIR] [key=value ...]

Trains with ``hideseek.train`` (configs/train/quadrant.yaml, ``torch_threads=1``) on
``--num-envs`` twin player processes. Every process the trainer starts, including each
restart, is given one fault at a random step (``--twin-fault KIND@STEP``): KIND cycles through
crash, hang, nan and garbage in a random order, STEP is uniform in 1..2 x ``--mean-steps``. So
the run sees a stream of faults at random steps on every worker.

Reports: faults fired (from the worker logs) by kind, restarts survived, the arena-steps marked
invalid (``StepOutput.valid`` False, left out of every loss and statistic by the learner) against
the one lost step per fault per arena that is expected, and whether every checkpoint is intact
(each file loads, all tensors finite, and the newest restores a fresh trainer). Goal: 100 %
survived, 0 checkpoints lost. The machine is shared; timings are not the point here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from hideseek.checkpoint import list_checkpoints, load_checkpoint
from hideseek.config_io import parse_overrides
from hideseek.contract import REPO_ROOT
from hideseek.envs.unity_vec import UnityVecSim, UnityWorkerError
from hideseek.train import ScalarLog, Trainer, load, load_train_config, run
from hideseek.unity_twin.options import FAULT_KINDS

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
FIRED = re.compile(r"injected fault: (\w+) at step (\d+)")


class FaultPlan:
    """``additional_args`` for UnityVecSim: a fresh random fault for every process launched."""

    def __init__(self, mean_steps: int, seed: int):
        self.rng = np.random.default_rng(seed)
        self.mean_steps = mean_steps
        self.kinds = itertools.cycle(self.rng.permutation(FAULT_KINDS).tolist())
        self.planned: list[tuple[int, str, int]] = []  # (worker index, kind, step)

    def __call__(self, k: int) -> list[str]:
        kind, step = next(self.kinds), int(self.rng.integers(1, 2 * self.mean_steps + 1))
        self.planned.append((k, kind, step))
        return ["--twin-fault", f"{kind}@{step}"]


class CountingSim:
    """UnityVecSim as the trainer sees it, counting the arena-steps reported invalid."""

    def __init__(self, sim: UnityVecSim):
        self.sim = sim
        self.steps = 0
        self.invalid_arena_steps = 0

    def __getattr__(self, name: str):
        return getattr(self.sim, name)

    def step(self, actions: torch.Tensor):
        out = self.sim.step(actions)
        self.steps += 1
        if out.valid is not None:
            self.invalid_arena_steps += int((~out.valid).sum())
        return out


def check_checkpoints(run_dir: Path, cfg, world, over) -> dict:
    found = list_checkpoints(run_dir)
    bad = []
    for update, path in found.items():
        try:
            tensors, meta = load_checkpoint(path)
            if meta.get("update") != update:
                bad.append(f"{path.name}: update {meta.get('update')}")
            elif not all(torch.isfinite(t).all() for t in tensors.values()
                         if t.is_floating_point()):
                bad.append(f"{path.name}: non-finite tensors")
        except Exception as exc:  # report, keep checking the others
            bad.append(f"{path.name}: {exc}")
    restored = None
    if found:
        fresh = Trainer(cfg, world, run_dir / "restore_check", world_over=over)
        load(fresh, found[max(found)])
        restored = fresh.update
    return {"checkpoints": len(found), "damaged": bad, "restored_update": restored,
            "newest": max(found) if found else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--num-envs", type=int, default=4)
    p.add_argument("--mean-steps", type=int, default=150,
                   help="mean steps between a process's start and its fault")
    p.add_argument("--timeout-wait", type=int, default=30,
                   help="seconds before a silent worker counts as hung (also its start-up limit)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--base-port", type=int, default=54000)
    p.add_argument("--out", default=None)
    p.add_argument("overrides", nargs="*", help="trainer overrides key=value")
    args = p.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="hideseek-faults-"))
    run_dir, logs = out / "run", out / "unity_logs"
    run_dir.mkdir(parents=True, exist_ok=True)
    overrides = {"max_minutes": args.minutes, "torch_threads": 1, "plot": False,
                 "baseline_arenas": 0, "progress": False, "tensorboard": False,
                 "checkpoint_every": 2, **parse_overrides(args.overrides)}
    cfg, world, over = load_train_config(REPO_ROOT / "configs/train/quadrant.yaml", overrides)
    torch.set_num_threads(cfg.torch_threads)
    plan = FaultPlan(args.mean_steps, args.seed)
    vec = UnityVecSim(LAUNCHER, args.num_envs, world, seed=cfg.seed, base_port=args.base_port,
                      timeout_wait=args.timeout_wait, max_restarts=10_000, log_dir=logs,
                      arenas_per_env=max(1, cfg.num_arenas // args.num_envs),
                      additional_args=plan)
    sim = CountingSim(vec)
    trainer = Trainer(cfg, world, run_dir, sim=sim, world_over=over)
    log = ScalarLog(run_dir, None, False)
    t0 = time.monotonic()
    error = None
    try:
        reason = run(trainer, log)
    except UnityWorkerError as exc:
        reason, error = "worker error", str(exc)
    finally:
        log.close()
        restarts = list(vec.restarts)
        vec.close()
    fired = Counter()
    for path in logs.glob("Player-*.log"):
        fired.update(m.group(1) for m in FIRED.finditer(path.read_text(errors="replace")))
    n_fired = sum(fired.values())
    per = vec.arenas_per_env
    ckpt = check_checkpoints(run_dir, cfg, world, over)
    summary = {
        "minutes": (time.monotonic() - t0) / 60, "stopped": reason, "error": error,
        "workers": args.num_envs, "arenas_per_worker": per, "updates": trainer.update,
        "vec_steps": sim.steps, "faults_fired": n_fired, "faults_by_kind": dict(fired),
        "restarts": sum(restarts), "restarts_survived_fraction":
            (sum(restarts) / n_fired if n_fired else float("nan")) if error is None else 0.0,
        "invalid_arena_steps": sim.invalid_arena_steps,
        "expected_invalid_arena_steps": n_fired * per,
        "invalid_fraction_of_arena_steps": sim.invalid_arena_steps / max(sim.steps * vec.num_arenas, 1),
        **ckpt, "checkpoints_lost": len(ckpt["damaged"]),
    }
    (out / "fault_summary.json").write_text(json.dumps(summary, indent=1))
    for key, value in summary.items():
        print(f"{key:34s} {value:.4f}" if isinstance(value, float) else f"{key:34s} {value}")
    ok = (error is None and summary["restarts"] == n_fired and not ckpt["damaged"]
          and ckpt["restored_update"] == ckpt["newest"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
