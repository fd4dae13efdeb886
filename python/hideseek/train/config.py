"""Training configuration: validated dataclasses loaded from ``configs/train/*.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..backends import BACKENDS
from ..config_io import ConfigError, build, merge, read_yaml, spec, to_dict
from ..contract import REPO_ROOT, TEAMS, WorldConfig, load_world_config
from ..icm import ICMConfig
from ..mappo import PPOConfig
from ..models import ModelConfig
from ..physx import EXTRA_HINT as PHYSX_EXTRA
from ..physx import available as physx_available

CONFIG_FILE = "config.yaml"
# Keys a resumed run may change: budgets, output and the machine's thread count (a chunk may
# resume on another machine; only the same count stays bit-identical), never what the learning
# depends on -- except the engine, so that a run trained on the twin can be fine-tuned on PhysX.
RESUME_OVERRIDABLE = ("total_agent_steps", "max_minutes", "checkpoint_every", "progress", "plot",
                      "tensorboard", "evaluation", "backend", "torch_threads")


@dataclass(frozen=True)
class SelfPlayConfig:
    opponent_prob: float = field(default=0.0, metadata=spec(
        ge=0.0, le=1.0, doc="chance per rollout that one team plays a past snapshot"))
    opponent_fraction: float = field(default=0.5, metadata=spec(
        gt=0.0, lt=1.0, doc="share of arenas in which it does"))
    snapshot_every: int = field(default=10, metadata=spec(ge=1, doc="updates between snapshots"))
    pool_size: int = field(default=8, metadata=spec(ge=1, le=1000))


@dataclass(frozen=True)
class CurriculumConfig:
    """The state-reset curriculum (``hideseek.train.curriculum``): some episodes continue from a
    state an earlier episode visited during its preparation phase. Off by default."""

    prob: float = field(default=0.0, metadata=spec(
        ge=0.0, lt=1.0, doc="chance that an ended episode's arena continues a saved prep state"))
    buffer: int = field(default=2048, metadata=spec(ge=1, le=1_000_000, doc="saved states kept"))
    record: int = field(default=4, metadata=spec(ge=1, le=100_000, doc="states saved per step"))


@dataclass(frozen=True)
class EvalConfig:
    """The periodic evaluation (``hideseek.train.evaluation``): at each checkpoint the current
    actors play the same episodes in the twin, deterministic and sampled."""

    enabled: bool = field(default=True, metadata=spec(
        doc="evaluate at each checkpoint save (in-process twin or Ray twin workers only)"))
    episodes: int = field(default=400, metadata=spec(ge=1, le=1_000_000, doc="episodes per mode"))
    every: int = field(default=1, metadata=spec(
        ge=1, le=1_000_000, doc="evaluate at every N-th checkpoint (and always at the last)"))
    seed: int = field(default=1_000_000, metadata=spec(
        ge=0, doc="episode e plays seed + e (the same at every checkpoint; `hideseek eval "
                  "RUN --seed` replays them)"))
    replay_episodes: int = field(default=0, metadata=spec(
        ge=0, le=1000, doc="episodes of a replay written next to each checkpoint "
                           "(update_N.replay.html, about 0.8 MB each); 0 = none"))


@dataclass(frozen=True)
class TrainConfig:
    name: str = "quadrant"
    arena: str = field(default="quadrant", metadata=spec(doc="arena name or YAML path"))
    out_dir: str = field(default="runs", metadata=spec(doc="parent of run directories"))
    seed: int = field(default=0, metadata=spec(ge=0))
    device: str = "cpu"
    torch_threads: int = field(default=0, metadata=spec(
        ge=0, le=256, doc="0 = measure the twin under 1, 2, 4... threads and take the fastest"))
    num_arenas: int = field(default=64, metadata=spec(ge=1, le=1_000_000))
    rollout_steps: int = field(default=80, metadata=spec(ge=1, le=100_000))
    total_agent_steps: int = field(default=10_000_000, metadata=spec(ge=1))
    max_minutes: float = field(default=0.0, metadata=spec(ge=0.0, doc="wall clock; 0 = none"))
    checkpoint_every: int = field(default=10, metadata=spec(ge=1, doc="updates"))
    backend: str = field(default="twin", metadata=spec(
        choices=BACKENDS, doc="the in-process engine: twin, or physx (the world on PhysX 5, the "
                              "physx extra; to fine-tune there after the twin)"))
    sim_compile: bool = False
    sim_cuda_graph: bool = field(default=False, metadata=spec(
        doc="CUDA only: replay the twin's step (compiled or not) as one CUDA graph"))
    policy_compile: bool = field(default=False, metadata=spec(
        doc="torch.compile the acting pass (network + sampling) of each policy"))
    baseline_arenas: int = field(default=64, metadata=spec(
        ge=0, doc="arenas for the random-policy reference episode; 0 = skip"))
    train_teams: list[str] = field(default_factory=lambda: list(TEAMS), metadata=spec(
        choices=TEAMS, doc="teams that learn; the others keep their initial (near-uniform) policy"))
    progress: bool = True
    tensorboard: bool = True
    plot: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    icm: ICMConfig = field(default_factory=ICMConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)

    def check(self, source: str) -> None:
        try:
            dev = torch.device(self.device)
        except RuntimeError:
            raise ConfigError(source, "device", self.device, "a torch device such as cpu or cuda:0") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(source, "device", self.device, "cpu (CUDA is not available here)")
        if self.sim_cuda_graph and dev.type != "cuda":
            raise ConfigError(source, "sim_cuda_graph", self.sim_cuda_graph,
                              f"false on device {self.device} (CUDA graphs need a CUDA device)")
        if self.backend == "physx":
            if not physx_available():
                raise ConfigError(source, "backend", self.backend,
                                  f"the physx extra installed ({PHYSX_EXTRA})")
            if dev.type != "cpu" or self.sim_cuda_graph:
                raise ConfigError(source, "device", self.device,
                                  "cpu with backend physx (PhysX runs on the CPU here)")
        if self.num_arenas * self.rollout_steps < self.ppo.minibatches:
            raise ConfigError(source, "ppo.minibatches", self.ppo.minibatches,
                              f"at most num_arenas * rollout_steps ({self.num_arenas * self.rollout_steps})")
        if not self.train_teams or len(set(self.train_teams)) != len(self.train_teams):
            raise ConfigError(source, "train_teams", self.train_teams,
                              "a non-empty list of distinct teams from " + ", ".join(TEAMS))
        if self.model.shared_policy and sorted(self.train_teams) != sorted(TEAMS):
            raise ConfigError(source, "train_teams", self.train_teams,
                              "both teams while model.shared_policy is true (one network plays both)")
        if self.model.recurrent != "none" and self.rollout_steps % self.ppo.chunk_length:
            raise ConfigError(source, "ppo.chunk_length", self.ppo.chunk_length,
                              f"a divisor of rollout_steps ({self.rollout_steps}) for a recurrent model")
        if self.selfplay.opponent_prob > 0 and int(self.num_arenas * self.selfplay.opponent_fraction) < 1:
            raise ConfigError(source, "selfplay.opponent_fraction", self.selfplay.opponent_fraction,
                              f"a share that leaves at least one of {self.num_arenas} arenas")


def load_train_config(path: str | Path | None, overrides: dict | None = None
                      ) -> tuple[TrainConfig, WorldConfig, dict]:
    """Config file + overrides -> (train config, world, world overrides). The optional ``world``
    mapping overrides fields of the arena named by ``arena``."""
    data = read_yaml(path) if path is not None else {}
    data = merge(data, overrides or {})
    source = str(path) if path is not None else "<defaults>"
    if overrides:
        source += " (with overrides)"
    world_over = data.pop("world", None) or {}
    if not isinstance(world_over, dict):
        raise ConfigError(source, "world", world_over, "a mapping of WorldConfig fields")
    cfg = build(TrainConfig, data, source)
    world = load_world_config(_arena_path(cfg.arena), world_over)
    return cfg, world, world_over


def _arena_path(arena: str) -> str:
    p = Path(arena)
    if p.suffix in (".yaml", ".yml") and not p.is_absolute() and not p.exists():
        return str(REPO_ROOT / p)
    return arena


def config_to_dict(cfg: TrainConfig, world_over: dict) -> dict:
    out = to_dict(cfg)
    out["world"] = dict(world_over)
    return out
