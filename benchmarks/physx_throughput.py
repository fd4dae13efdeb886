"""PhysX arena-steps/s beside the twin's, measured in one run on this machine.

    .venv/bin/pip install -e '.[physx]'
    .venv/bin/python benchmarks/physx_throughput.py [--sizes 1 16 64 256] [--steps 40]

Random actions in the quadrant world (vision, 30-ray lidar, rewards and statistics included,
auto-resets as they come). For each batch size it times: PhysX with every arena in one PhysX
scene and with one scene per arena (``arenas_per_scene``), eager sensing, and the twin, eager and
under ``torch.compile``; with ``--compile``, PhysX with compiled sensing too (the twin's compiled
``sense``, a minute or two of compiling per size). Best of ``--repeats`` timings. One torch thread
(PhysX steps on the calling thread: SAPIEN's CPU system runs no worker threads and holds the GIL,
so a second core cannot speed up one simulator). Last lines: ``physx_arena_steps_per_s <best>``
and ``physx_vs_twin <PhysX / eager twin at that size>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from hideseek.contract import ACTION_BRANCHES, load_world_config
from hideseek.physx import require
from hideseek.sim import TwinSim


def rate(sim, n: int, steps: int, repeats: int, gen: torch.Generator) -> float:
    """Arena-steps/s of ``sim.step`` on random actions: the best of ``repeats`` timings."""
    high = torch.tensor(ACTION_BRANCHES)
    actions = [(torch.rand(n, sim.layout.max_agents, len(ACTION_BRANCHES), generator=gen)
                * high).long() for _ in range(steps)]
    for act in actions[:3]:              # warm-up (and compiling, where it compiles)
        sim.step(act)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for act in actions:
            sim.step(act)
        best = max(best, n * steps / (time.perf_counter() - start))
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="also PhysX with compiled sensing")
    args = p.parse_args()
    require()
    from hideseek.physx.sim import PhysxSim

    torch.set_num_threads(1)
    world = load_world_config("quadrant")
    gen = torch.Generator().manual_seed(0)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__}, 1 thread")
    columns = {
        "physx (one scene)": lambda n: PhysxSim(world, n),
        "physx (scene per arena)": lambda n: PhysxSim(world, n, arenas_per_scene=1),
        "twin eager": lambda n: TwinSim(world, n),
        "twin compiled": lambda n: TwinSim(world, n, compile=True),
    }
    if args.compile:
        columns["physx compiled sensing"] = lambda n: PhysxSim(world, n, compile=True)
    print("| arenas | " + " | ".join(columns) + " |")
    print("|---:|" + "---:|" * len(columns))
    best = (0.0, 0, 0.0)
    for n in args.sizes:
        rates = {name: rate(make(n), n, args.steps, args.repeats, gen)
                 for name, make in columns.items()}
        print(f"| {n} | " + " | ".join(f"{r:,.0f}" for r in rates.values()) + " |", flush=True)
        physx = max(v for k, v in rates.items() if k.startswith("physx"))
        if physx > best[0]:
            best = (physx, n, physx / rates["twin eager"])
    print(f"# best PhysX at {best[1]} arenas")
    print(f"physx_arena_steps_per_s {best[0]:.0f}")
    print(f"physx_vs_twin {best[2]:.3f}")


if __name__ == "__main__":
    main()
