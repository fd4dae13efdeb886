"""Twin throughput against VMAS ``simple_tag``, measured in the same process.

    .venv/bin/pip install -e '.[bench]'          # VMAS is a benchmark-only dependency
    .venv/bin/python benchmarks/sim_throughput.py [--device cuda] [--sizes 1 64 1024 4096] [--threads 1]

Prints one row per batch size (arena-steps/s and agent-steps/s of the quadrant world with vision
and lidar, the same for VMAS simple_tag, and the ratio); the last line is
``sim_vs_vmas_1024 <ratio>``. The twin runs under ``torch.compile`` unless ``--eager``.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from hideseek.contract import ACTION_BRANCHES, load_world_config
from hideseek.sim import TwinSim


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _rate(step, n: int, steps: int, warmup: int, device: torch.device) -> float:
    """Arena-steps per second of ``step(i)`` after ``warmup`` untimed calls."""
    for i in range(warmup):
        step(i)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    _sync(device)
    return n * steps / (time.perf_counter() - start)


def twin_rate(n: int, device: torch.device, steps: int, compile: bool) -> tuple[float, int]:
    world = load_world_config("quadrant")
    sim = TwinSim(world, n, device=device, seed=0, compile=compile)
    gen = torch.Generator(device=device).manual_seed(0)
    # A pool of random actions made up front: the benchmark times the simulator, not the RNG.
    pool = torch.stack([torch.randint(0, b, (8, n, world.max_agents), generator=gen, device=device)
                        for b in ACTION_BRANCHES], -1)
    return _rate(lambda i: sim.step(pool[i % 8]), n, steps, warmup=5, device=device), world.max_agents


def vmas_rate(n: int, device: torch.device, steps: int) -> tuple[float, int]:
    import vmas
    env = vmas.make_env("simple_tag", num_envs=n, device=device, continuous_actions=True, seed=0)
    env.reset()
    gen = torch.Generator(device=device).manual_seed(0)
    pool = [[torch.rand(n, 2, generator=gen, device=device) * 2 - 1 for _ in env.agents]
            for _ in range(8)]
    return _rate(lambda i: env.step(pool[i % 8]), n, steps, warmup=5, device=device), len(env.agents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024, 4096])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per size")
    parser.add_argument("--eager", action="store_true", help="do not torch.compile the twin")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads for both simulators (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        # Inductor bakes the thread count into its kernels: set it before anything compiles.
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    try:
        import vmas  # noqa: F401
    except ImportError:
        raise SystemExit("VMAS is not installed: .venv/bin/pip install -e '.[bench]'")
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads, device {device}, torch {torch.__version__}, "
          f"twin {'eager' if args.eager else 'torch.compile'}")
    print(f"{'arenas':>7} {'twin arena-steps/s':>19} {'twin agent-steps/s':>19} "
          f"{'vmas arena-steps/s':>19} {'vmas agent-steps/s':>19} {'twin/vmas':>10}")
    ratio_1024 = None
    for n in args.sizes:
        steps = max(args.steps // (4 if n >= 4096 else 1), 10)
        twin, twin_agents = twin_rate(n, device, steps, compile=not args.eager)
        ref, ref_agents = vmas_rate(n, device, steps)
        ratio = twin / ref
        if n == 1024:
            ratio_1024 = ratio
        print(f"{n:>7} {twin:>19,.0f} {twin * twin_agents:>19,.0f} {ref:>19,.0f} "
              f"{ref * ref_agents:>19,.0f} {ratio:>10.2f}", flush=True)
    if ratio_1024 is not None:
        print(f"sim_vs_vmas_1024 {ratio_1024:.3f}")


if __name__ == "__main__":
    main()
