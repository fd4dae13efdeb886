"""The trainer: a sampler (rollouts), the learner, and the opponent pool.

One ``train_update`` is: pick opponents -> sample a rollout -> the learner's update -> episode
statistics -> snapshot for the pool. The learner lives on ``cfg.device``; the sampler is a
``LocalSampler`` (the twin or ``UnityVecSim`` in this process) or, with a ``RayConfig``, a
``RaySampler`` (rollout workers on a Ray cluster).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import torch

from ..contract import TEAMS, WorldConfig
from ..learner import Learner
from ..models import Actor
from ..rollout import Collector
from ..sampling import LocalSampler, make_twin_blocks
from .config import SelfPlayConfig, TrainConfig
from .curriculum import PrepStateCurriculum


def other_team(team: str) -> str:
    return TEAMS[1 - TEAMS.index(team)]


class OpponentPool:
    """Past snapshots of the actors. With ``opponent_prob`` per rollout, one team plays a
    random snapshot in the first ``opponent_fraction`` of the arenas, so the other team also
    learns against past play; the frozen team's samples there are not trained on. Only a team
    that trains against a training opponent is ever frozen: freezing anything else teaches
    nobody."""

    def __init__(self, cfg: SelfPlayConfig, train_teams: list[str], num_arenas: int, seed: int):
        self.cfg, self.num_arenas = cfg, num_arenas
        self.candidates = [t for t in TEAMS if t in train_teams and other_team(t) in train_teams]
        self.generator = torch.Generator().manual_seed(seed)  # host generator: no device sync
        self.snapshots: list[tuple[int, dict[str, dict[str, torch.Tensor]]]] = []

    @property
    def active(self) -> bool:
        return self.cfg.opponent_prob > 0 and bool(self.candidates)

    def add(self, update: int, actors: dict[str, Actor]) -> None:
        """Keep a snapshot every ``snapshot_every`` updates; at most ``pool_size`` of them."""
        if not self.active or update % self.cfg.snapshot_every:
            return
        self.snapshots.append((update, {g: {k: v.detach().clone() for k, v in a.state_dict().items()}
                                        for g, a in actors.items()}))
        del self.snapshots[:-self.cfg.pool_size]

    def pick(self, frozen: dict[str, Actor], group_of: dict[str, str]) -> dict[str, tuple[Actor, int]]:
        """-> ``{team: (actor loaded with a snapshot, arenas)}`` or ``{}``."""
        if not self.active or not self.snapshots:
            return {}
        u = torch.rand(3, generator=self.generator).tolist()
        if u[0] >= self.cfg.opponent_prob:
            return {}
        team = self.candidates[int(u[1] * len(self.candidates)) % len(self.candidates)]
        _, snapshot = self.snapshots[int(u[2] * len(self.snapshots)) % len(self.snapshots)]
        actor = frozen[team]
        actor.load_state_dict(snapshot[group_of[team]])
        return {team: (actor, int(self.num_arenas * self.cfg.opponent_fraction))}


class Trainer:
    """Owns the sampler, the learner and the bookkeeping of one run.

    ``sim``: a simulator to play in this process (default: the twin). ``ray``: play on Ray
    rollout workers instead (``hideseek.ray_sampler.RayConfig``). ``local_blocks`` > 1 plays the
    twin in that many arena blocks seeded like Ray workers (to reproduce their batches)."""

    def __init__(self, cfg: TrainConfig, world: WorldConfig, run_dir: Path, sim: Any = None,
                 world_over: dict | None = None, ray: Any = None, local_blocks: int = 1):
        self.cfg, self.world, self.run_dir = cfg, world, Path(run_dir)
        self.world_over = dict(world_over or {})
        self.device = torch.device(cfg.device)
        torch.manual_seed(cfg.seed)  # network initialisation
        self.layout = world.layout if sim is None else sim.layout
        self.learner = Learner(self.layout, cfg.model, cfg.ppo, cfg.icm, cfg.train_teams, self.device)
        self.gen_sample = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.gen_minibatch = torch.Generator().manual_seed(cfg.seed + 2)
        self.sampler = self._make_sampler(sim, ray, local_blocks)
        # The in-process simulator and collector of a single-block sampler (else None):
        # checkpoints keep their state.
        single = isinstance(self.sampler, LocalSampler) and len(self.sampler.collectors) == 1
        self.sim = self.sampler.sim if single else None
        self.collector: Collector | None = self.sampler.collector if single else None
        self.pool = OpponentPool(cfg.selfplay, cfg.train_teams, self.sampler.num_arenas, cfg.seed + 3)
        self.group_of = {t: self.learner.team_group(t) for t in TEAMS}
        self._frozen = {t: copy.deepcopy(self.learner.actors[self.group_of[t]]).eval() for t in TEAMS}
        self.update = 0
        self.agent_steps = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.stop_requested = False
        self.last_update_s = 0.0  # seconds of the last learner update (benchmarks)

    def _make_sampler(self, sim: Any, ray: Any, local_blocks: int):
        cfg = self.cfg
        if cfg.curriculum.prob > 0 and (ray is not None or sim is not None or local_blocks != 1
                                        or cfg.backend != "twin"):
            raise ValueError("Trainer: curriculum.prob > 0 needs the in-process twin in one "
                             "block, not a Unity build, PhysX or Ray workers")
        if ray is not None:
            if sim is not None:
                raise ValueError("Trainer: pass either sim or ray, not both")
            from ..ray_sampler import RaySampler
            return RaySampler(ray, self.world, cfg.model, self.learner.actors, cfg.seed,
                              cfg.rollout_steps, cfg.num_arenas, self.device,
                              log_dir=self.run_dir / "unity_logs")
        if sim is None:   # the twin, in one block or in several seeded like Ray workers
            if cfg.num_arenas % local_blocks:
                raise ValueError(f"Trainer: local_blocks={local_blocks} needs num_arenas "
                                 f"({cfg.num_arenas}) divisible by it")
            starts = None
            if cfg.curriculum.prob > 0:
                starts = PrepStateCurriculum(cfg.curriculum, self.world.prep_steps,
                                             cfg.num_arenas, self.device, cfg.seed + 4)
            return LocalSampler(make_twin_blocks(
                self.world, local_blocks, cfg.num_arenas // local_blocks, self.learner.actors,
                self.learner.slots, cfg.seed, cfg.rollout_steps, self.device,
                sim_compile=cfg.sim_compile, policy_compile=cfg.policy_compile,
                sim_cuda_graph=cfg.sim_cuda_graph, generator=self.gen_sample, starts=starts))
        if local_blocks > 1:
            raise ValueError(f"Trainer: local_blocks={local_blocks} needs the twin, not a "
                             "given simulator")
        collector = Collector(sim, self.learner.actors, self.learner.slots, self.gen_sample,
                              cfg.rollout_steps, compile=cfg.policy_compile)
        collector.reset(cfg.seed)
        return LocalSampler([collector])

    @property
    def steps_per_update(self) -> int:
        """Agent-steps of a whole batch (a Ray round may train on fewer: ``agent_steps`` counts
        what was trained on)."""
        return self.sampler.num_arenas * self.cfg.rollout_steps * self.layout.max_agents

    def _sync(self) -> None:
        if self.device.type == "cuda":  # phase boundaries only, never inside the step loop
            torch.cuda.synchronize(self.device)

    def train_update(self) -> dict[str, torch.Tensor]:
        """Collect one rollout and update every trained policy; returns device scalars."""
        t0 = time.perf_counter()
        opponents = self.pool.pick(self._frozen, self.group_of)
        buf = self.sampler.sample(self.update, opponents)
        self._sync()
        t1 = time.perf_counter()
        stats = self.learner.update(buf, self.gen_minibatch)
        for k, v in buf.episode_means().items():
            stats[f"episode/{k}"] = v
        stats["episode/count"] = buf.episodes
        self.update += 1
        steps = buf.steps * buf.arenas * self.layout.max_agents
        self.agent_steps += steps
        self.pool.add(self.update, self.learner.actors)
        self._sync()
        t2 = time.perf_counter()
        self.elapsed += t2 - t0
        total = t2 - t0
        timings = self.sampler.timings
        stats["perf/sps"] = torch.tensor(steps / max(total, 1e-9))
        stats["perf/sim_share"] = torch.tensor(timings.get("sim", 0.0) / total)
        stats["perf/policy_share"] = torch.tensor(timings.get("policy", 0.0) / total)
        stats["perf/update_share"] = torch.tensor((t2 - t1) / total)
        self.last_update_s = t2 - t1
        stats["perf/opponent_sampled"] = torch.tensor(float(bool(opponents)))
        for k, v in self.sampler.stats().items():
            stats[k] = torch.tensor(v)
        return stats

    def close(self) -> None:
        """End the sampler's simulators or workers."""
        self.sampler.close()
