"""Pick the torch thread count under which some work runs fastest on this machine.

More threads help only where cores are free and batches are large; on a shared or small machine
one thread is often faster. Measure instead of guessing: :func:`fastest_threads` times any work
under each candidate (the trainer times a whole update with it, ``hideseek.train.threads``);
:func:`pick_threads` times a few twin steps. Inductor bakes the thread count into the kernels it
compiles, so measure (and ``torch.set_num_threads`` with the answer) before building a compiled
``TwinSim``, with ``compile=True`` if that is how the twin will run.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import torch

from ..contract import ACTION_BRANCHES, WorldConfig


def thread_candidates(limit: int | None = None) -> list[int]:
    """1, 2, 4, ... up to the usable cores (or ``limit``)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    top = max(1, min(cores or 1, limit or cores or 1))
    out, k = [], 1
    while k <= top:
        out.append(k)
        k *= 2
    return out


def fastest_threads(measure: Callable[[float], float], candidates: list[int] | None = None
                    ) -> tuple[int, dict[int, float]]:
    """The thread count in ``candidates`` (default :func:`thread_candidates`) for which
    ``measure(best)`` -- called with torch set to that many threads and the best seconds so far
    (inf at first), returning the seconds the work took, or inf once it knows it is slower than
    ``best`` -- is smallest, and every candidate's seconds. Leaves torch's thread count as it
    found it."""
    options = candidates or thread_candidates()
    if any(k < 1 for k in options):
        raise ValueError(f"candidates: expected thread counts >= 1, got {options}")
    before = torch.get_num_threads()
    timings: dict[int, float] = {}
    try:
        for k in options:
            torch.set_num_threads(k)
            timings[k] = measure(min(timings.values(), default=float("inf")))
    finally:
        torch.set_num_threads(before)
    return min(timings, key=timings.get), timings


def pick_threads(world: WorldConfig, num_arenas: int, steps: int = 3,
                 candidates: list[int] | None = None, compile: bool = False) -> int:
    """The thread count in ``candidates`` (default :func:`thread_candidates`) under which
    ``num_arenas`` arenas of ``world`` step fastest on the CPU, measured over ``steps`` steps
    each, eager or compiled as the caller will run it (compiled costs a compile per candidate,
    about a minute each on a small machine, but compiled kernels scale very differently: on a
    shared 2-vCPU VM two threads made the compiled step 70x slower, through OpenMP barriers
    waiting on a busy core). Leaves torch's thread count as it found it."""
    from .twin import TwinSim

    if steps < 1:
        raise ValueError(f"steps: expected >= 1, got {steps}")
    gen = torch.Generator().manual_seed(0)
    actions = torch.stack([torch.randint(0, b, (num_arenas, world.max_agents), generator=gen)
                           for b in ACTION_BRANCHES], -1)

    def measure(best: float) -> float:
        sim = TwinSim(world, num_arenas, seed=0, compile=compile)
        sim.step(actions)                                     # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            sim.step(actions)
        return time.perf_counter() - start

    return fastest_threads(measure, candidates)[0]
