"""Samplers: where the trainer's rollouts come from.

A sampler turns "the actors as they are now (version v), these frozen opponents" into one
:class:`RolloutBuffer` for the learner. :class:`LocalSampler` plays in this process (the twin or
``UnityVecSim``); ``hideseek.ray_sampler.RaySampler`` plays on Ray workers. Everything stateful
about learning (networks, critic, GAE, ICM, normalizers, checkpoints) stays with the learner.

Arena blocks: a sampler's N arenas are cut into contiguous blocks, block i owning arenas
``[i * n, (i + 1) * n)``. Block i's simulator is seeded with ``seed + i * n`` (so its arena j has
the seed the single-batch twin gives global arena ``i * n + j``) and its actions are sampled from
its own generator (:func:`block_seeds`). A Ray worker is one block; a ``LocalSampler`` over the
same blocks reproduces the workers' fragments exactly (docs/ray.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import torch

from .buffer import RolloutBuffer
from .contract import ObsLayout
from .models import Actor
from .rollout import Collector

Opponents = dict[str, tuple[Actor, int]]  # team -> (frozen actor, arenas it plays: the first k)
SAMPLE_SEED_STRIDE = 1_000_003  # keeps the blocks' generator seeds apart from the trainer's own


@dataclass(frozen=True)
class BlockSeeds:
    sim: int      # seed of the block's simulator: its arena j is seeded sim + j
    sample: int   # seed of the block's action-sampling generator


def block_seeds(seed: int, index: int, arenas_per_block: int) -> BlockSeeds:
    """Seeds of arena block ``index``. Block 0 keeps the single-block trainer's seeds
    (``seed``, ``seed + 1``), so one block is exactly today's trainer."""
    return BlockSeeds(sim=seed + index * arenas_per_block,
                      sample=seed + 1 + SAMPLE_SEED_STRIDE * index)


def block_opponents(opponents: Opponents, first: int, arenas: int) -> Opponents:
    """The part of ``opponents`` (defined on global arenas) that falls into the block of
    ``arenas`` arenas starting at global arena ``first``: the block's first k' arenas."""
    out = {}
    for team, (actor, k) in opponents.items():
        share = min(max(k - first, 0), arenas)
        if share:
            out[team] = (actor, share)
    return out


class Sampler(Protocol):
    """What the trainer needs from a source of rollouts."""

    layout: ObsLayout
    num_arenas: int
    timings: dict[str, float]   # seconds per phase of the last ``sample`` (names vary)

    def sample(self, version: int, opponents: Opponents) -> RolloutBuffer:
        """One batch for the learner at policy ``version`` (its update count)."""
        ...

    def stats(self) -> dict[str, float]:
        """Counters of the last ``sample`` for the scalar log (may be empty)."""
        ...

    def reset(self, seed: int) -> None:
        """Fresh episodes (a checkpoint without simulator state was loaded)."""
        ...

    def close(self) -> None:
        ...


class LocalSampler:
    """Rollouts in this process: one :class:`Collector` per arena block, concatenated.

    With one block this is exactly the trainer before samplers existed. Several blocks run one
    after the other; they exist to reproduce what Ray workers over the same blocks produce."""

    def __init__(self, collectors: list[Collector]):
        if not collectors:
            raise ValueError("LocalSampler: expected at least one collector")
        self.collectors = collectors
        self.layout = collectors[0].layout
        self.num_arenas = sum(c.sim.num_arenas for c in collectors)
        self.timings: dict[str, float] = {}

    @property
    def collector(self) -> Collector:
        """The first block's collector (the only one of a single-block sampler)."""
        return self.collectors[0]

    @property
    def sim(self):
        return self.collectors[0].sim

    def reset(self, seed: int) -> None:
        """Fresh episodes everywhere; block i's arenas continue the global seeding."""
        first = 0
        for c in self.collectors:
            c.reset(seed + first)
            first += c.sim.num_arenas

    def sample(self, version: int, opponents: Opponents) -> RolloutBuffer:
        parts, first, totals = [], 0, {}
        started = time.perf_counter()
        for c in self.collectors:
            n = c.sim.num_arenas
            parts.append(c.collect(block_opponents(opponents, first, n)))
            first += n
            for k, v in c.timings.items():
                totals[k] = totals.get(k, 0.0) + v
        if len(parts) > 1:
            # Collectors reuse their buffer between rollouts; the joined one is new memory.
            buf = RolloutBuffer.concat(parts)
        else:
            buf = parts[0]
        totals["sample"] = time.perf_counter() - started
        self.timings = totals
        return buf

    def stats(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        seen = set()
        for c in self.collectors:
            close = getattr(c.sim, "close", None)
            if close is not None and id(c.sim) not in seen:
                seen.add(id(c.sim))
                close()


def make_twin_blocks(world, blocks: int, arenas_per_block: int, actors: dict[str, Actor],
                     groups: dict[str, slice], seed: int, steps: int, device: torch.device,
                     sim_compile: bool = False, policy_compile: bool = False,
                     sim_cuda_graph: bool = False, generator: torch.Generator | None = None,
                     starts=None) -> list[Collector]:
    """Collectors over ``blocks`` twin simulators seeded as Ray workers seed theirs.
    ``generator``: block 0's action-sampling generator (the trainer's own, which checkpoints
    keep), seeded as :func:`block_seeds` says; the other blocks get new ones. ``starts``: one
    block's episode starts (:class:`~hideseek.rollout.Collector`)."""
    if starts is not None and blocks != 1:
        raise ValueError(f"make_twin_blocks: episode starts need one block, got {blocks}")
    from .sim import TwinSim

    out = []
    for i in range(blocks):
        s = block_seeds(seed, i, arenas_per_block)
        sim = TwinSim(world, arenas_per_block, device=device, seed=s.sim, compile=sim_compile,
                      cuda_graph=sim_cuda_graph)
        gen = generator if i == 0 and generator is not None else \
            torch.Generator(device=device).manual_seed(s.sample)
        c = Collector(sim, actors, groups, gen, steps, compile=policy_compile, starts=starts)
        c.reset(s.sim)
        out.append(c)
    return out
