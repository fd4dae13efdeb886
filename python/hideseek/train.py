"""``hideseek train``: MAPPO + ICM self-play of both teams on the batched twin (or Unity).

One process, one torch device: the simulator, the rollout buffers, both teams' networks and
their updates all live on ``device``. A run directory holds the resolved config, a JSONL log of
scalars (what ``hideseek plot`` reads), TensorBoard events and atomic checkpoints that contain
everything needed to continue exactly (weights, optimizers, normalizers, RNG states, the
simulator's state and the opponent pool).
"""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from .checkpoint import (CheckpointError, checkpoint_name, list_checkpoints, load_checkpoint, pack,
                         save_checkpoint, sub_state, unpack)
from .config_io import ConfigError, build, merge, parse_overrides, read_yaml, spec, to_dict
from .contract import REPO_ROOT, TEAMS, WorldConfig, load_world_config, world_to_dict
from .icm import Curiosity, ICMConfig
from .mappo import PPOConfig, TeamLearner
from .models import Actor, ModelConfig
from .rollout import Collector, prepare_batch, team_slices

CONFIG_FILE = "config.yaml"
SCALARS_FILE = "scalars.jsonl"
BASELINE_FILE = "baseline.json"
# Keys a resumed run may change: budgets and output only, never what the learning depends on.
RESUME_OVERRIDABLE = ("total_agent_steps", "max_minutes", "checkpoint_every", "progress", "plot",
                      "tensorboard")


@dataclass(frozen=True)
class SelfPlayConfig:
    opponent_prob: float = field(default=0.0, metadata=spec(
        ge=0.0, le=1.0, doc="chance per rollout that one team plays a past snapshot"))
    opponent_fraction: float = field(default=0.5, metadata=spec(
        gt=0.0, lt=1.0, doc="share of arenas in which it does"))
    snapshot_every: int = field(default=10, metadata=spec(ge=1, doc="updates between snapshots"))
    pool_size: int = field(default=8, metadata=spec(ge=1, le=1000))


@dataclass(frozen=True)
class TrainConfig:
    name: str = "quadrant"
    arena: str = field(default="quadrant", metadata=spec(doc="arena name or YAML path"))
    out_dir: str = field(default="runs", metadata=spec(doc="parent of run directories"))
    seed: int = field(default=0, metadata=spec(ge=0))
    device: str = "cpu"
    torch_threads: int = field(default=0, metadata=spec(ge=0, le=256, doc="0 = torch default"))
    num_arenas: int = field(default=64, metadata=spec(ge=1, le=1_000_000))
    rollout_steps: int = field(default=80, metadata=spec(ge=1, le=100_000))
    total_agent_steps: int = field(default=10_000_000, metadata=spec(ge=1))
    max_minutes: float = field(default=0.0, metadata=spec(ge=0.0, doc="wall clock; 0 = none"))
    checkpoint_every: int = field(default=10, metadata=spec(ge=1, doc="updates"))
    sim_compile: bool = False
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

    def check(self, source: str) -> None:
        try:
            dev = torch.device(self.device)
        except RuntimeError:
            raise ConfigError(source, "device", self.device, "a torch device such as cpu or cuda:0") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(source, "device", self.device, "cpu (CUDA is not available here)")
        if self.num_arenas * self.rollout_steps < self.ppo.minibatches:
            raise ConfigError(source, "ppo.minibatches", self.ppo.minibatches,
                              f"at most num_arenas * rollout_steps ({self.num_arenas * self.rollout_steps})")
        if not self.train_teams or len(set(self.train_teams)) != len(self.train_teams):
            raise ConfigError(source, "train_teams", self.train_teams,
                              "a non-empty list of distinct teams from " + ", ".join(TEAMS))
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


# --------------------------------------------------------------------------- the trainer

class Trainer:
    """Owns the simulator, both teams' learners, the collector and the bookkeeping."""

    def __init__(self, cfg: TrainConfig, world: WorldConfig, run_dir: Path, sim: Any = None,
                 world_over: dict | None = None):
        self.cfg, self.world, self.run_dir = cfg, world, Path(run_dir)
        self.world_over = dict(world_over or {})
        self.device = torch.device(cfg.device)
        torch.manual_seed(cfg.seed)  # network initialisation
        if sim is None:
            from .sim import TwinSim
            sim = TwinSim(world, cfg.num_arenas, device=self.device, seed=cfg.seed,
                          compile=cfg.sim_compile)
        self.sim = sim
        self.layout = sim.layout
        self.learners = {t: TeamLearner(self.layout, cfg.model, cfg.ppo, self.device) for t in TEAMS}
        self.slices = team_slices(self.layout)
        self.curiosity: dict[str, Curiosity] = {}
        if cfg.icm.enabled:
            for t in TEAMS:
                sl = self.slices[t]
                streams = sim.num_arenas * (sl.stop - sl.start)
                self.curiosity[t] = Curiosity(self.layout, cfg.icm, streams, self.device)
        self.gen_sample = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.gen_minibatch = torch.Generator().manual_seed(cfg.seed + 2)
        self.gen_opponent = torch.Generator().manual_seed(cfg.seed + 3)
        self.collector = Collector(sim, self.learners, self.gen_sample, bool(self.curiosity))
        self.collector.reset(cfg.seed)
        self.update = 0
        self.agent_steps = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.pool: list[tuple[int, dict[str, dict[str, torch.Tensor]]]] = []
        self._frozen = {t: Actor(self.layout, cfg.model).to(self.device).eval() for t in TEAMS}
        self.stop_requested = False

    @property
    def steps_per_update(self) -> int:
        return self.sim.num_arenas * self.cfg.rollout_steps * self.layout.max_agents

    # ------------------------------------------------------------------ one update
    def _pick_opponents(self) -> dict[str, tuple[Actor, int]]:
        sp = self.cfg.selfplay
        if sp.opponent_prob <= 0 or not self.pool:
            return {}
        u = torch.rand(3, generator=self.gen_opponent).tolist()  # host generator: no device sync
        if u[0] >= sp.opponent_prob:
            return {}
        team = TEAMS[int(u[1] * len(TEAMS)) % len(TEAMS)]
        _, snapshot = self.pool[int(u[2] * len(self.pool)) % len(self.pool)]
        actor = self._frozen[team]
        actor.load_state_dict(snapshot[team])
        return {team: (actor, int(self.sim.num_arenas * sp.opponent_fraction))}

    def train_update(self) -> dict[str, torch.Tensor]:
        """Collect one rollout and update both teams; returns device scalars."""
        cfg = self.cfg
        t0 = time.perf_counter()
        opponents = self._pick_opponents()
        roll = self.collector.collect(cfg.rollout_steps, opponents)
        t1 = time.perf_counter()
        stats: dict[str, torch.Tensor] = {}
        for team in cfg.train_teams:
            learner, cur = self.learners[team], self.curiosity.get(team)
            r = roll.teams[team]
            batch, rstats = prepare_batch(r, roll.state, roll.truncated, learner, cur, cfg.icm.coef,
                                          self.slices[team].start)
            ustats = learner.update(batch, self.gen_minibatch, use_intrinsic=cur is not None)
            if cur is not None:
                nxt = tuple(o.reshape(batch.actions.shape[0], *o.shape[3:]) for o in r.next_obs)
                ustats.update(cur.update(batch.obs, nxt, batch.actions, batch.act_weight,
                                         self.gen_minibatch, cfg.icm.epochs, cfg.ppo.minibatches))
            # Statistics move after the update: the update must score actions with the same
            # normalization that chose them.
            learner.model.actor.update_normalizer(batch.obs, batch.value_weight)
            learner.model.critic.update_normalizer(batch.state, batch.slot, batch.value_weight)
            for k, v in {**rstats, **ustats}.items():
                stats[f"{team}/{k}"] = v
        episodes = roll.episodes
        for k, v in roll.stat_sums.items():
            stats[f"episode/{k}"] = v / episodes.clamp(min=1)
        stats["episode/count"] = episodes
        self.update += 1
        self.agent_steps += self.steps_per_update
        if self.update % cfg.selfplay.snapshot_every == 0 and cfg.selfplay.opponent_prob > 0:
            snap = {t: {k: v.detach().clone() for k, v in self.learners[t].model.actor.state_dict().items()}
                    for t in TEAMS}
            self.pool.append((self.update, snap))
            del self.pool[:-cfg.selfplay.pool_size]
        t2 = time.perf_counter()
        self.elapsed += t2 - t0
        total = t2 - t0
        stats["perf/sps"] = torch.tensor(self.steps_per_update / max(total, 1e-9))
        stats["perf/sim_share"] = torch.tensor(roll.timings["sim"] / total)
        stats["perf/policy_share"] = torch.tensor(roll.timings["policy"] / total)
        stats["perf/update_share"] = torch.tensor((t2 - t1) / total)
        stats["perf/opponent_sampled"] = torch.tensor(float(bool(opponents)))
        return stats

    # ------------------------------------------------------------------ checkpoints
    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {}
        for t in TEAMS:
            ln = self.learners[t]
            for k, v in ln.model.state_dict().items():
                tensors[f"model.{t}.{k}"] = v
            for k, v in ln.value_norm.state_dict().items():
                tensors[f"value_norm.{t}.{k}"] = v
            meta[f"optimizer.{t}"] = pack(ln.optimizer.state_dict(), f"optimizer.{t}", tensors)
            if t in self.curiosity:
                cur = self.curiosity[t]
                for k, v in cur.state_dict().items():
                    tensors[f"curiosity.{t}.{k}"] = v
                meta[f"icm_optimizer.{t}"] = pack(cur.optimizer.state_dict(), f"icm_optimizer.{t}",
                                                  tensors)
            mem = self.collector.memory[t]
            if mem is not None:
                tensors[f"memory.{t}"] = mem
        tensors["rng.sample"] = self.gen_sample.get_state()
        tensors["rng.minibatch"] = self.gen_minibatch.get_state()
        tensors["rng.opponent"] = self.gen_opponent.get_state()
        sim_state = getattr(self.sim, "state", None)
        meta["sim_state_saved"] = hasattr(sim_state, "tensors")
        if meta["sim_state_saved"]:
            for k, v in sim_state.tensors().items():
                tensors[f"sim.{k}"] = v
        meta["pool"] = []
        for i, (u, snap) in enumerate(self.pool):
            meta["pool"].append(u)
            for t in TEAMS:
                for k, v in snap[t].items():
                    tensors[f"pool.{i}.{t}.{k}"] = v
        meta.update(world=world_to_dict(self.world), model=to_dict(self.cfg.model),
                    train=config_to_dict(self.cfg, self.world_over), update=self.update,
                    agent_steps=self.agent_steps, elapsed=self.elapsed,
                    teams=list(TEAMS), agent_names=list(self.layout.agent_names))
        return tensors, meta

    def save(self) -> Path:
        tensors, meta = self.state_tensors()
        path = self.run_dir / "checkpoints" / checkpoint_name(self.update)
        return save_checkpoint(path, tensors, meta)

    def load(self, path: Path) -> None:
        tensors, meta = load_checkpoint(path)
        try:
            for t in TEAMS:
                ln = self.learners[t]
                ln.model.load_state_dict(sub_state(tensors, f"model.{t}"))
                ln.value_norm.load_state_dict(sub_state(tensors, f"value_norm.{t}"))
                ln.optimizer.load_state_dict(unpack(meta[f"optimizer.{t}"], tensors, path))
                if t in self.curiosity:
                    cur = self.curiosity[t]
                    cur.load_state_dict(sub_state(tensors, f"curiosity.{t}"))
                    cur.optimizer.load_state_dict(unpack(meta[f"icm_optimizer.{t}"], tensors, path))
                if self.collector.memory[t] is not None:
                    self.collector.memory[t] = tensors[f"memory.{t}"].to(self.device)
            self.gen_sample.set_state(tensors["rng.sample"])
            self.gen_minibatch.set_state(tensors["rng.minibatch"])
            self.gen_opponent.set_state(tensors["rng.opponent"])
            self.pool = [(u, {t: sub_state(tensors, f"pool.{i}.{t}") for t in TEAMS})
                         for i, u in enumerate(meta["pool"])]
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(path, f"does not match this run ({str(exc).splitlines()[0]})",
                                  "a checkpoint of the same run config") from None
        if meta.get("sim_state_saved") and hasattr(getattr(self.sim, "state", None), "tensors"):
            from .sim.state import SimState
            self.sim.state = SimState(**{k: v.to(self.device) for k, v in sub_state(tensors, "sim").items()})
            self.collector.obs = self.sim.observe()
        else:
            # No simulator state (e.g. Unity): continue with fresh episodes.
            self.collector.reset(self.cfg.seed + int(meta["update"]))
        self.update, self.agent_steps = int(meta["update"]), int(meta["agent_steps"])
        self.elapsed = float(meta["elapsed"])


# --------------------------------------------------------------------------- logging

class ScalarLog:
    """scalars.jsonl (+ TensorBoard): one record per update."""

    def __init__(self, run_dir: Path, resume_update: int | None, tensorboard: bool):
        self.path = run_dir / SCALARS_FILE
        if resume_update is not None and self.path.exists():
            # Drop records written after the checkpoint we continue from.
            keep = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["update"] <= resume_update]
            self.path.write_text("".join(k + "\n" for k in keep))
        self.fh = open(self.path, "a")
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run_dir / "tb"),
                                    purge_step=None if resume_update is None else resume_update + 1)

    def write(self, update: int, agent_steps: int, elapsed: float, scalars: dict[str, float]) -> None:
        rec = {"update": update, "agent_steps": agent_steps, "minutes": elapsed / 60, **scalars}
        self.fh.write(json.dumps(rec) + "\n")
        self.fh.flush()
        if self.tb is not None:
            for k, v in scalars.items():
                if math.isfinite(v):
                    self.tb.add_scalar(k, v, agent_steps)

    def close(self) -> None:
        self.fh.close()
        if self.tb is not None:
            self.tb.close()


def to_host(stats: dict[str, torch.Tensor]) -> dict[str, float]:
    """One device->host transfer for all scalars of an update."""
    keys = list(stats)
    values = torch.stack([stats[k].detach().float().to("cpu") for k in keys]).tolist()
    return dict(zip(keys, values))


def random_baseline(world: WorldConfig, arenas: int, seed: int, device: torch.device
                    ) -> dict[str, float]:
    """Mean episode statistics of uniformly random (mask-respecting) play by both teams: the
    reference the dashboard compares learned play with."""
    from .models import BranchIndex, sample_actions
    from .sim import TwinSim

    sim = TwinSim(world, arenas, device=device, seed=seed)
    bi = BranchIndex(world.layout.action_branches, device)
    gen = torch.Generator(device=device).manual_seed(seed)
    obs = sim.reset(seed)
    for _ in range(world.horizon):
        mask = obs.action_mask
        logp = bi.log_probs(torch.zeros(mask.shape, device=device), mask)
        out = sim.step(sample_actions(logp, gen))
        obs = out.obs
        if out.episode_stats is not None:
            return {k: float(v.float().mean()) for k, v in out.episode_stats.items()}
    raise RuntimeError("random_baseline: no episode ended within the horizon")


# --------------------------------------------------------------------------- the loop

def run(trainer: Trainer, log: ScalarLog, should_stop: Callable[[], bool] = lambda: False) -> str:
    """Train until a budget is spent or ``should_stop``; checkpoints every K updates and at the
    end. Returns why it stopped: "steps", "time" or "stopped"."""
    cfg = trainer.cfg
    from tqdm import tqdm

    bar = tqdm(total=cfg.total_agent_steps, initial=min(trainer.agent_steps, cfg.total_agent_steps),
               unit="step", unit_scale=True, dynamic_ncols=True, disable=not cfg.progress,
               desc=cfg.name)
    reason = "steps"
    try:
        while True:
            if trainer.agent_steps >= cfg.total_agent_steps:
                reason = "steps"
                break
            if cfg.max_minutes > 0 and trainer.elapsed >= cfg.max_minutes * 60:
                reason = "time"
                break
            if should_stop() or trainer.stop_requested:
                reason = "stopped"
                break
            scalars = to_host(trainer.train_update())
            log.write(trainer.update, trainer.agent_steps, trainer.elapsed, scalars)
            bar.update(trainer.steps_per_update)
            bar.set_postfix(sps=f"{scalars['perf/sps']:.0f}",
                            hidden=f"{scalars['episode/hidden_fraction']:.2f}",
                            left=(f"{max(cfg.max_minutes - trainer.elapsed / 60, 0):.1f}min"
                                  if cfg.max_minutes > 0 else "-"))
            if trainer.update % cfg.checkpoint_every == 0:
                trainer.save()
    finally:
        bar.close()
    if not list_checkpoints(trainer.run_dir) or max(list_checkpoints(trainer.run_dir)) != trainer.update:
        trainer.save()
    return reason


def _new_run_dir(cfg: TrainConfig) -> Path:
    out = Path(cfg.out_dir)
    if not out.is_absolute():
        out = Path.cwd() / out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = out / f"{cfg.name}-{stamp}"
    i = 1
    while run_dir.exists():
        i += 1
        run_dir = out / f"{cfg.name}-{stamp}-{i}"
    return run_dir


def prepare(args) -> tuple[Trainer, Path | None]:
    """Build the trainer of a new run or of ``--resume RUN_DIR`` (then also the checkpoint)."""
    overrides = parse_overrides(args.overrides or [])
    resume_ckpt = None
    if args.resume:
        run_dir = Path(args.resume)
        cfg_path = run_dir / CONFIG_FILE
        if not cfg_path.is_file():
            raise CheckpointError(run_dir, f"no {CONFIG_FILE}", "a run directory written by hideseek train")
        bad = sorted(set(overrides) - set(RESUME_OVERRIDABLE))
        if bad:
            raise ConfigError("command line", bad[0], overrides[bad[0]],
                              "on --resume only one of " + ", ".join(RESUME_OVERRIDABLE))
        cfg, world, world_over = load_train_config(cfg_path, overrides)
        found = list_checkpoints(run_dir)
        if not found:
            raise CheckpointError(run_dir, "no checkpoints", "a run directory with a checkpoint")
        resume_ckpt = found[max(found)]
    else:
        cfg_path = Path(args.config)
        if not cfg_path.is_absolute() and not cfg_path.exists():
            cfg_path = REPO_ROOT / cfg_path
        cfg, world, world_over = load_train_config(cfg_path, overrides)
        run_dir = _new_run_dir(cfg)
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    sim = None
    if getattr(args, "env", None):
        from .envs.unity_vec import UnityVecSim
        # num_arenas is the total over all Unity processes, split evenly between them.
        per_env = max(1, cfg.num_arenas // args.num_envs)
        sim = UnityVecSim(args.env, args.num_envs, world, seed=cfg.seed,
                          log_dir=run_dir / "unity_logs", arenas_per_env=per_env,
                          device=cfg.device)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(config_to_dict(cfg, world_over), sort_keys=False))
    trainer = Trainer(cfg, world, run_dir, sim=sim, world_over=world_over)
    return trainer, resume_ckpt


def main(args) -> int:
    trainer, resume_ckpt = prepare(args)
    cfg, run_dir = trainer.cfg, trainer.run_dir
    if resume_ckpt is not None:
        trainer.load(resume_ckpt)
        print(f"hideseek train: resumed {run_dir} at update {trainer.update} "
              f"({trainer.agent_steps} agent-steps)", file=sys.stderr)
    else:
        print(f"hideseek train: run directory {run_dir}", file=sys.stderr)
        if cfg.baseline_arenas > 0 and getattr(args, "env", None) is None:
            base = random_baseline(trainer.world, cfg.baseline_arenas, cfg.seed + 10_000,
                                   trainer.device)
            (run_dir / BASELINE_FILE).write_text(json.dumps(base, indent=1))

    def on_sigint(signum, frame):
        # First Ctrl-C: finish the current update, checkpoint, exit. Second: abort now.
        trainer.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nhideseek train: interrupted; saving a checkpoint after this update "
              "(Ctrl-C again to abort without saving)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    log = ScalarLog(run_dir, trainer.update if resume_ckpt is not None else None, cfg.tensorboard)
    worker_error: type[BaseException] = _unity_worker_error(getattr(args, "env", None))
    try:
        reason = run(trainer, log)
    except worker_error as exc:
        path = trainer.save()
        print(f"hideseek train: Unity worker failed and could not recover: {exc}\n"
              f"checkpoint saved to {path}; continue with --resume {run_dir}", file=sys.stderr)
        return 1
    finally:
        log.close()
        signal.signal(signal.SIGINT, previous)
        close = getattr(trainer.sim, "close", None)
        if close is not None:
            close()
    print(f"hideseek train: stopped ({reason}) at update {trainer.update}, "
          f"{trainer.agent_steps} agent-steps, {trainer.elapsed / 60:.1f} min; "
          f"checkpoint in {run_dir / 'checkpoints'}", file=sys.stderr)
    if cfg.plot:
        from .plots import write_dashboard
        for p in write_dashboard(run_dir):
            print(f"hideseek train: wrote {p}", file=sys.stderr)
    return 130 if reason == "stopped" else 0


def _unity_worker_error(env: str | None) -> type[BaseException]:
    """The Unity worker failure to catch at the top level (a never-raised class for the twin)."""
    class _Never(Exception):
        pass

    if not env:
        return _Never
    from .envs.unity_vec import UnityWorkerError
    return UnityWorkerError
