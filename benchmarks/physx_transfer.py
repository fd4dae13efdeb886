"""What a policy pair keeps in PhysX: the same ONNX pair plays the same seeds in the twin and in
PhysX, and each statistic's means are compared.

    .venv/bin/pip install -e '.[physx]'
    .venv/bin/python benchmarks/physx_transfer.py [--hider H.onnx --seeker S.onnx]
        [--episodes 400] [--seed 2000000] [--arena quadrant] [--turning composite]

Default pair: the shipped one (models/quadrant/). Episode e plays seed ``seed + e`` in both
engines (the same layouts; the trajectories part as soon as the physics does). Statistics:
hider and seeker win rates, hidden fraction, boxes locked by hiders in prep and at the end,
doors blocked and room sealed at the end of prep, grabs per hider and per seeker. For each:
both means, their standard errors and the ratio min(twin/PhysX, PhysX/twin), 1 where both
means are below 0.05 (noise on near-zero rates decides nothing). Beside them, the same ratio
between the twin and the twin again on the next ``--episodes`` seeds: what chance alone gives
(``twin_vs_twin_min``). Diagnostic statistics follow the table. Last line:
``physx_retained_min <smallest ratio>`` (goal >= 0.90).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import torch

from hideseek.contract import load_world_config
from hideseek.evaluation.actors import OnnxActor
from hideseek.evaluation.runner import run_episodes
from hideseek.evaluation.statistics import outcome
from hideseek.backends import simulator_factory
from hideseek.physx import require
from hideseek.play import SHIPPED_MODELS, load_policies

NEAR_ZERO = 0.05
STATISTICS = ("hider_win", "seeker_win", "hidden_fraction", "boxes_locked_prep_by_hiders",
              "boxes_locked_end_by_hiders", "doors_blocked_prep", "room_sealed_prep",
              "grabs_per_hider", "grabs_per_seeker")
# Printed below the table to help find a rule that differs; not part of the minimum.
DIAGNOSTICS = ("seeker_on_top_steps", "max_box_displacement_prep", "max_box_displacement",
               "max_ramp_displacement", "ramps_locked_prep_by_hiders", "hider_return")


def per_episode(episodes: list) -> dict[str, np.ndarray]:
    """Each statistic's value per episode (win rates as 0/1 indicators)."""
    out = {name: np.array([float(e[name]) for e in episodes])
           for name in STATISTICS + DIAGNOSTICS if not name.endswith("_win")}
    results = [outcome(e) for e in episodes]
    out["hider_win"] = np.array([r == "hider" for r in results], dtype=float)
    out["seeker_win"] = np.array([r == "seeker" for r in results], dtype=float)
    return out


def retained(twin: float, physx: float) -> float:
    """min(twin/PhysX, PhysX/twin); 1 when both are near zero."""
    if twin < NEAR_ZERO and physx < NEAR_ZERO:
        return 1.0
    if twin <= 0 or physx <= 0:
        return 0.0
    return min(twin / physx, physx / twin)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hider", default=str(SHIPPED_MODELS / "Hider.onnx"))
    p.add_argument("--seeker", default=str(SHIPPED_MODELS / "Seeker.onnx"))
    p.add_argument("--episodes", type=int, default=400)
    p.add_argument("--seed", type=int, default=2_000_000)
    p.add_argument("--arena", default="quadrant")
    p.add_argument("--deterministic", action="store_true", help="most likely actions")
    p.add_argument("--turning", default="composite", choices=("agent", "composite"),
                   help="how PhysX's turning law reaches a held object: composite (the scene's "
                        "way: holder and held object turn as one body) or agent (on the holder "
                        "alone, as the scene did first; hideseek.physx.law)")
    args = p.parse_args()
    torch.set_num_threads(1)
    world = load_world_config(args.arena)
    policies = load_policies(args.hider, args.seeker, seed=args.seed)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; pair {args.hider}, {args.seeker}; "
          f"{args.episodes} episodes from seed {args.seed}; PhysX turning {args.turning}")
    require()
    from hideseek.physx.sim import PhysxSim

    twin = simulator_factory("twin", world)
    # The noise reference: the twin again, on the next episodes' seeds (other layouts, other
    # samples). A ratio between two plays of the same engine is what chance alone gives.
    runs = {"twin": (twin, args.seed),
            "physx": (lambda n, s: PhysxSim(world, n, seed=s, turning=args.turning), args.seed),
            "twin, other seeds": (twin, args.seed + args.episodes)}
    results = {}
    for name, (factory, seed) in runs.items():
        actors = {team: OnnxActor(policy, args.deterministic) for team, policy in policies.items()}
        start = time.perf_counter()
        results[name] = per_episode(run_episodes(factory, actors, args.episodes, seed=seed))
        print(f"# {name}: {time.perf_counter() - start:.1f} s")

    def cell(v: np.ndarray) -> str:
        return f"{v.mean():.3f} ± {v.std(ddof=1) / math.sqrt(len(v)):.3f}"

    print("| statistic | twin | PhysX | kept | twin, other seeds | twin vs twin |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    worst, noise = 1.0, 1.0
    for name in STATISTICS:
        t, x, o = (results[k][name] for k in ("twin", "physx", "twin, other seeds"))
        ratio = retained(float(t.mean()), float(x.mean()))
        chance = retained(float(t.mean()), float(o.mean()))
        worst, noise = min(worst, ratio), min(noise, chance)

        print(f"| {name} | {cell(t)} | {cell(x)} | {ratio:.3f} | {cell(o)} | {chance:.3f} |")
    for name in DIAGNOSTICS:
        t, x, o = (results[k][name] for k in ("twin", "physx", "twin, other seeds"))
        print(f"| ({name}) | {cell(t)} | {cell(x)} | | {cell(o)} | |")
    print(f"twin_vs_twin_min {noise:.3f}")
    print(f"physx_retained_min {worst:.3f}")


if __name__ == "__main__":
    main()
