"""Throughput through the ML-Agents protocol (twin player processes) vs the in-process twin,
and the cost of this project's adapter over bare ``UnityEnvironment`` calls, in one run.

    .venv/bin/python benchmarks/protocol_throughput.py [--procs 1 4 8] [--arenas-per-env 1]
                                                       [--steps 200] [--base-port 53000]

Rows: arena-steps/s of ``UnityVecSim`` with K processes x A arenas, and of ``TwinSim`` with the
same K*A arenas in this process (no protocol), and their ratio. Then, with one process, the time
per step of a bare ``UnityEnvironment`` loop (set_actions + step + get_steps for both
behaviours, no conversion) against ``UnityVecSim.step`` (the same plus id mapping, tensors,
state channel, statistics): the adapter overhead, target <= 10 %. The last line is
``adapter_overhead <fraction>``. Both loops send "do nothing" actions so the simulation work is
the same. Everything shares this machine's cores: K processes on few cores measure contention.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from hideseek.contract import NO_MOVE_BIN, REPO_ROOT, load_world_config
from hideseek.envs.unity_vec import UnityVecSim
from hideseek.sim import TwinSim

from mlagents_envs.base_env import ActionTuple

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
TARGET_OVERHEAD = 0.10


def noop_actions(n: int, agents: int) -> torch.Tensor:
    return torch.tensor([NO_MOVE_BIN] * 3 + [0, 0]).repeat(n, agents, 1)


def time_steps(step, steps: int, warmup: int = 10, blocks: int = 5) -> float:
    """Seconds per step (median of blocks, robust to a neighbour's burst of CPU use)."""
    for _ in range(warmup):
        step()
    block = max(steps // blocks, 1)
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(block):
            step()
        times.append((time.perf_counter() - t0) / block)
    return float(np.median(times))


def bench_vec(world, procs: int, arenas: int, steps: int, base_port: int, log_dir: str) -> float:
    with UnityVecSim(LAUNCHER, procs, world, seed=0, base_port=base_port, arenas_per_env=arenas,
                     log_dir=log_dir) as vec:
        vec.reset(0)
        actions = noop_actions(vec.num_arenas, world.layout.max_agents)
        return time_steps(lambda: vec.step(actions), steps)


def bench_twin(world, n: int, steps: int) -> float:
    sim = TwinSim(world, n, seed=0)
    actions = noop_actions(n, world.layout.max_agents)
    return time_steps(lambda: sim.step(actions), steps)


def bench_overhead(world, arenas: int, steps: int, base_port: int, log_dir: str
                   ) -> tuple[float, float]:
    """Seconds per step of a bare loop over UnityVecSim's own UnityEnvironment (what any
    mlagents_envs user pays: set_actions + step, no conversions) and of UnityVecSim.step, on
    the same twin process in alternating blocks, so the player and machine load are the same."""
    with UnityVecSim(LAUNCHER, 1, world, seed=0, base_port=base_port, arenas_per_env=arenas,
                     log_dir=log_dir) as vec:
        vec.reset(0)
        unity = vec._workers[0].unity  # benchmark-only peek at the underlying UnityEnvironment
        env, stats, state = unity.env, unity.channels.stats, unity.channels.state
        noop = np.array([NO_MOVE_BIN] * 3 + [0, 0], np.int32)
        actions = noop_actions(vec.num_arenas, world.layout.max_agents)

        def bare_step() -> None:
            for behavior in env.behavior_specs:
                decision, _ = env.get_steps(behavior)
                env.set_actions(behavior, ActionTuple(discrete=np.tile(noop, (len(decision), 1))))
            env.step()
            state.pop_messages()  # keep the channels' queues from growing
            stats.get_and_reset_stats()

        bare, ours = [], []
        block = max(steps // 10, 1)
        for _ in range(10):
            bare.append(time_steps(bare_step, block, warmup=2, blocks=1))
            ours.append(time_steps(lambda: vec.step(actions), block, warmup=2, blocks=1))
        return float(np.median(bare)), float(np.median(ours))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arena", default="quadrant")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--arenas-per-env", type=int, default=1)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--base-port", type=int, default=53000)
    args = p.parse_args()
    torch.set_num_threads(1)
    world = load_world_config(args.arena)
    log_dir = tempfile.mkdtemp(prefix="protocol-bench-")
    a = args.arenas_per_env
    print(f"{'procs':>5} {'arenas':>6} {'protocol arena-steps/s':>23} "
          f"{'in-process arena-steps/s':>25} {'protocol/in-process':>20}")
    for k in args.procs:
        t_vec = bench_vec(world, k, a, args.steps, args.base_port, log_dir)
        t_twin = bench_twin(world, k * a, args.steps)
        print(f"{k:>5} {k * a:>6} {k * a / t_vec:>23.1f} {k * a / t_twin:>25.1f} "
              f"{t_twin / t_vec:>20.3f}")
    t_bare, t_adapter = bench_overhead(world, a, args.steps, args.base_port + 100, log_dir)
    overhead = t_adapter / t_bare - 1
    print(f"bare UnityEnvironment step {t_bare * 1e3:.2f} ms, UnityVecSim step "
          f"{t_adapter * 1e3:.2f} ms (1 process, {a} arenas); target overhead "
          f"<= {TARGET_OVERHEAD:.0%}")
    print(f"adapter_overhead {overhead:.3f}")


if __name__ == "__main__":
    main()
