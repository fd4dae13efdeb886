"""Twin throughput against VMAS ``simple_tag``, measured in the same process.

    .venv/bin/pip install -e '.[bench]'          # VMAS is a benchmark-only dependency
    .venv/bin/python benchmarks/sim_throughput.py [--sizes 1 64 1024 4096 16384] [--threads 1 2]
    .venv/bin/python benchmarks/sim_throughput.py --device cuda --sizes 1024 16384 65536 \
        --modes eager graph compiled-graph --no-vmas

For each torch thread count, prints one row per batch size: arena-steps/s (best of
``--repeats`` timings, for both simulators alike) and agent-steps/s of the quadrant world with
vision and lidar, the same for VMAS simple_tag, the ratio, and the twin's memory per arena
(peak device memory on a GPU; state + observation tensors on a CPU).
Then one line per thread count with its ratios and one with each simulator's cost model: its
fixed cost per step (the step time at the smallest size) and its marginal cost per arena
(between the two largest sizes). The ratio tends to the VMAS/twin marginal-cost ratio as arenas
grow, and it can only rise with the arena count where the twin's fixed/marginal cost quotient
exceeds VMAS's. Last come ``sim_vs_vmas_4096 <ratio>`` and ``sim_vs_vmas_1024 <ratio>`` for the
first thread count given. The twin runs under ``torch.compile`` (replayed as CUDA graphs on a
GPU) unless ``--eager``. On a GPU, ``--modes`` runs one table per way of stepping: ``eager``,
``graph`` (the eager step captured into one CUDA graph, no compile), ``compiled-graph``
(Inductor's kernels in our CUDA graph) and ``compiled`` (torch.compile's own CUDA-graph mode).
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


def _rate(step, n: int, steps: int, warmup: int, device: torch.device, repeats: int) -> float:
    """Arena-steps per second of ``step(i)`` after ``warmup`` untimed calls: the best of
    ``repeats`` timings of ``steps`` calls (as ``timeit`` advises: on a shared machine the
    slower timings measure the other jobs)."""
    for i in range(warmup):
        step(i)
    best = 0.0
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        _sync(device)
        best = max(best, n * steps / (time.perf_counter() - start))
    return best


def _tensor_bytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (tuple, list)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


MODES = {"eager": dict(compile=False), "compiled": dict(compile=True),
         "graph": dict(compile=False, cuda_graph=True),
         "compiled-graph": dict(compile=True, cuda_graph=True)}


def twin_rate(n: int, device: torch.device, steps: int, compile: bool, cuda_graph: bool = False,
              repeats: int = 1) -> tuple[float, int, float]:
    """(arena-steps/s, agents per arena, bytes per arena)."""
    world = load_world_config("quadrant")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    sim = TwinSim(world, n, device=device, seed=0, compile=compile, cuda_graph=cuda_graph)
    gen = torch.Generator(device=device).manual_seed(0)
    # A pool of random actions made up front: the benchmark times the simulator, not the RNG.
    pool = torch.stack([torch.randint(0, b, (8, n, world.max_agents), generator=gen, device=device)
                        for b in ACTION_BRANCHES], -1)
    rate = _rate(lambda i: sim.step(pool[i % 8]), n, steps, 5, device, repeats)
    if device.type == "cuda":
        used = torch.cuda.max_memory_allocated(device) - base - _tensor_bytes(pool)
    else:
        used = _tensor_bytes(sim.state.tensors()) + _tensor_bytes(vars(sim.obs))
    return rate, world.max_agents, used / n


def vmas_rate(n: int, device: torch.device, steps: int, repeats: int = 1) -> tuple[float, int]:
    import vmas
    env = vmas.make_env("simple_tag", num_envs=n, device=device, continuous_actions=True, seed=0)
    env.reset()
    gen = torch.Generator(device=device).manual_seed(0)
    pool = [[torch.rand(n, 2, generator=gen, device=device) * 2 - 1 for _ in env.agents]
            for _ in range(8)]
    rate = _rate(lambda i: env.step(pool[i % 8]), n, steps, 5, device, repeats)
    return rate, len(env.agents)


def run_table(sizes: list[int], device: torch.device, steps: int, mode: dict, vmas: bool = True,
              repeats: int = 1) -> dict[int, tuple[float, float]]:
    """Print the table for the current thread count; return {arenas: (twin, vmas) arena-steps/s}
    (vmas NaN where it was not run)."""
    print(f"{'arenas':>7} {'twin arena-steps/s':>19} {'twin agent-steps/s':>19} "
          f"{'vmas arena-steps/s':>19} {'vmas agent-steps/s':>19} {'twin/vmas':>10} "
          f"{'twin KiB/arena':>15}", flush=True)
    rates = {}
    for n in sizes:
        count = max(steps // (4 if n >= 4096 else 1), 10)
        twin, twin_agents, per_arena = twin_rate(n, device, count, repeats=repeats, **mode)
        ref, ref_agents = float("nan"), 0
        try:
            if vmas:
                ref, ref_agents = vmas_rate(n, device, count, repeats)
        except Exception as exc:                 # the twin's figures still count
            print(f"  (VMAS failed at {n} arenas: {type(exc).__name__}: {exc})")
        rates[n] = (twin, ref)
        print(f"{n:>7} {twin:>19,.0f} {twin * twin_agents:>19,.0f} {ref:>19,.0f} "
              f"{ref * ref_agents:>19,.0f} {twin / ref:>10.2f} {per_arena / 1024:>15.2f}",
              flush=True)
    return rates


def cost_model(rates: dict[int, float]) -> tuple[float, float]:
    """(fixed seconds per step, marginal seconds per arena) from arena-steps/s at several sizes:
    the step time at the smallest size, and the slope between the two largest."""
    sizes = sorted(rates)
    step_time = {n: n / rates[n] for n in sizes}
    big, bigger = sizes[-2], sizes[-1]
    return step_time[sizes[0]], (step_time[bigger] - step_time[big]) / (bigger - big)


def cost_line(threads: int, rates: dict[int, tuple[float, float]]) -> str:
    """Both simulators' cost models and what they imply for the ratio as arenas grow."""
    (twin_fixed, twin_arena), (ref_fixed, ref_arena) = (
        cost_model({n: r[i] for n, r in rates.items()}) for i in (0, 1))
    return (f"threads {threads}: cost per step = fixed + marginal per arena: twin "
            f"{twin_fixed * 1e3:.2f} ms + {twin_arena * 1e6:.2f} us, VMAS {ref_fixed * 1e3:.2f} ms "
            f"+ {ref_arena * 1e6:.2f} us; twin/vmas tends to {ref_arena / twin_arena:.2f} as arenas "
            f"grow, and can rise with arenas only if twin fixed/marginal "
            f"({twin_fixed / twin_arena:,.0f} arenas) >= VMAS's ({ref_fixed / ref_arena:,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024, 4096, 16384])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per size")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings per size and simulator; the best counts")
    parser.add_argument("--eager", action="store_true", help="do not torch.compile the twin")
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES),
                        help="ways of stepping the twin, one table each (default: compiled, or "
                             "eager with --eager)")
    parser.add_argument("--no-vmas", action="store_true",
                        help="time the twin only (e.g. on a machine without VMAS)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch thread counts for both simulators, one table each "
                             "(0 = torch's default)")
    args = parser.parse_args()
    device = torch.device(args.device)
    modes = args.modes or ["eager" if args.eager else "compiled"]
    if any(MODES[m].get("cuda_graph") for m in modes) and device.type != "cuda":
        raise SystemExit("--modes: graph and compiled-graph need --device cuda")
    if not args.no_vmas:
        try:
            import vmas  # noqa: F401
        except ImportError:
            raise SystemExit("VMAS is not installed: .venv/bin/pip install -e '.[bench]' "
                             "(or pass --no-vmas)")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        (platform.processor() or platform.machine())
    print(f"machine: {name}, device {device}, torch {torch.__version__}")
    default_threads = torch.get_num_threads()
    summary = []
    for threads in args.threads:
        # Inductor bakes the thread count into its kernels: each table compiles its own. Dynamo
        # guards the thread count too, so a new table starts from an empty cache rather than
        # adding to the old one (past 8 entries per function Dynamo falls back to eager).
        torch._dynamo.reset()
        torch.set_num_threads(threads or default_threads)
        for mode in modes:
            print(f"threads {torch.get_num_threads()}, twin {mode}")
            rates = run_table(args.sizes, device, args.steps, MODES[mode], not args.no_vmas,
                              args.repeats)
            if mode == modes[0]:
                summary.append((torch.get_num_threads(), rates))
    for threads, rates in summary:
        print(f"threads {threads}: " + " ".join(f"sim_vs_vmas_{n} {twin / ref:.3f}"
                                                for n, (twin, ref) in rates.items()))
    if not args.no_vmas and len(args.sizes) >= 3:
        for threads, rates in summary:
            print(cost_line(threads, rates))
    first = summary[0][1]
    for n in (4096, 1024):
        if n in first:
            twin, ref = first[n]
            print(f"sim_vs_vmas_{n} {twin / ref:.3f}")


if __name__ == "__main__":
    main()
