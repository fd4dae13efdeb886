"""``hideseek train``: the loop with its budgets and checkpoints, and the command's entry point."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import yaml

from ..checkpoint import CheckpointError, list_checkpoints, load_latest
from ..config_io import ConfigError, parse_overrides
from ..contract import REPO_ROOT
from .config import CONFIG_FILE, RESUME_OVERRIDABLE, TrainConfig, config_to_dict, load_train_config
from .evaluation import PeriodicEvaluation
from .log import ScalarLog, to_host
from .state import load, save
from ..demo import random_rollout_stats, scripted_ceiling_stats
from .trainer import Trainer

BASELINE_FILE = "baseline.json"
CEILING_FILE = "ceiling.json"     # the scripted room-sealing team's statistics (quadrant only)


def stop_reason(trainer: Trainer, should_stop: Callable[[], bool]) -> str | None:
    """Why training must stop now ("steps", "time", "stopped"), or None to go on."""
    cfg = trainer.cfg
    if trainer.agent_steps >= cfg.total_agent_steps:
        return "steps"
    if cfg.max_minutes > 0 and trainer.elapsed >= cfg.max_minutes * 60:
        return "time"
    if should_stop() or trainer.stop_requested:
        return "stopped"
    return None


def progress_total(cfg: TrainConfig, agent_steps: int, elapsed: float, steps_per_second: float) -> int:
    """The agent-steps at which the run will stop: the step budget, or, with a time budget, the
    steps projected at ``max_minutes`` from the training rate so far, whichever is smaller."""
    total = cfg.total_agent_steps
    if cfg.max_minutes > 0 and steps_per_second > 0:
        left = max(cfg.max_minutes * 60 - elapsed, 0.0)
        total = min(total, agent_steps + int(steps_per_second * left))
    return max(total, agent_steps)


def run(trainer: Trainer, log: ScalarLog, should_stop: Callable[[], bool] = lambda: False,
        evaluate: Callable[[Trainer, bool], dict[str, float]] | None = None) -> str:
    """Train until a budget is spent or ``should_stop``; checkpoints every K updates and at the
    end. ``evaluate(trainer, final)`` (the periodic evaluation) runs before each checkpoint but
    the one of a stop the user asked for, its scalars logged with that update's. Returns why it
    stopped: "steps", "time" or "stopped"."""
    cfg = trainer.cfg
    from tqdm import tqdm

    start_steps, start_elapsed = trainer.agent_steps, trainer.elapsed
    bar = tqdm(total=progress_total(cfg, trainer.agent_steps, trainer.elapsed, 0.0),
               initial=min(trainer.agent_steps, cfg.total_agent_steps), unit="step",
               unit_scale=True, dynamic_ncols=True, disable=not cfg.progress, desc=cfg.name)
    reason = stop_reason(trainer, should_stop)
    try:
        while reason is None:
            before = trainer.agent_steps
            scalars = to_host(trainer.train_update())
            reason = stop_reason(trainer, should_stop)
            checkpoint = trainer.update % cfg.checkpoint_every == 0 or reason is not None
            if checkpoint and evaluate is not None and reason != "stopped":
                scalars.update(evaluate(trainer, reason is not None))
            log.write(trainer.update, trainer.agent_steps, trainer.elapsed, scalars)
            rate = (trainer.agent_steps - start_steps) / max(trainer.elapsed - start_elapsed, 1e-9)
            bar.total = progress_total(cfg, trainer.agent_steps, trainer.elapsed, rate)
            bar.update(trainer.agent_steps - before)  # a partial Ray round trains on fewer
            bar.set_postfix(sps=f"{scalars['perf/sps']:.0f}",
                            hidden=f"{scalars['episode/hidden_fraction']:.2f}",
                            left=(f"{max(cfg.max_minutes - trainer.elapsed / 60, 0):.1f}min"
                                  if cfg.max_minutes > 0 else "-"))
            if checkpoint:
                save(trainer)
    finally:
        bar.close()
    if not list_checkpoints(trainer.run_dir) or max(list_checkpoints(trainer.run_dir)) != trainer.update:
        save(trainer)   # nothing was trained in this session: the budget was already spent
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


def prepare(args) -> tuple[Trainer, tuple[Path, dict, dict] | None]:
    """Build the trainer of a new run or of ``--resume RUN_DIR`` (then also the newest checkpoint
    that loads, as ``(path, tensors, meta)``; newer torn ones are reported and skipped)."""
    overrides = parse_overrides(args.overrides or [])
    resume = None
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
        resume = load_latest(run_dir)
        for update, torn in list_checkpoints(run_dir).items():
            if update > int(resume[2]["update"]):  # skipped: kept, out of the way of new saves
                kept = torn.rename(torn.with_name(torn.name + ".torn"))
                print(f"hideseek train: kept the unloadable {torn.name} as {kept.name}", file=sys.stderr)
    else:
        cfg_path = Path(args.config)
        if not cfg_path.is_absolute() and not cfg_path.exists():
            cfg_path = REPO_ROOT / cfg_path
        cfg, world, world_over = load_train_config(cfg_path, overrides)
        run_dir = _new_run_dir(cfg)
    sim, ray = None, ray_config(args)
    env = _unity_env(args)
    if cfg.backend == "physx" and (env or ray is not None):
        raise ConfigError("--env/--ray", "backend", cfg.backend,
                          "twin with a Unity build or Ray workers (backend physx runs in-process)")
    picked = None
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    elif torch.device(cfg.device).type == "cpu":
        # More threads help only where cores are free: measure on this machine, now, what the
        # run will do (the twin, acting and the update together).
        from .threads import pick_training_threads
        picked, timings = pick_training_threads(cfg, world)
        torch.set_num_threads(picked)
    if cfg.backend == "physx":
        from ..backends import make_simulator
        sim = make_simulator("physx", world, cfg.num_arenas, device=cfg.device, seed=cfg.seed,
                             compile=cfg.sim_compile)
    elif env and ray is None:
        from ..envs.unity_vec import UnityVecSim
        # num_arenas is the total over all Unity processes, split evenly between them.
        per_env = max(1, cfg.num_arenas // args.num_envs)
        sim = UnityVecSim(env, args.num_envs, world, seed=cfg.seed,
                          log_dir=run_dir / "unity_logs", arenas_per_env=per_env,
                          device=cfg.device)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(config_to_dict(cfg, world_over), sort_keys=False))
    trainer = Trainer(cfg, world, run_dir, sim=sim, world_over=world_over, ray=ray)
    if picked is not None:  # said once the run is set up: a refused config stays one line
        measured = ", ".join(f"{k}: {s:.2f} s" if s < float("inf") else f"{k}: slower, stopped"
                             for k, s in timings.items())
        print(f"hideseek train: {picked} torch thread(s), the fastest measured here for one "
              f"update ({measured}; torch_threads=N to choose)", file=sys.stderr)
    return trainer, resume


def periodic_evaluation(trainer: Trainer, args) -> PeriodicEvaluation | None:
    """The evaluation at each checkpoint, unless switched off or the run plays a Unity build
    (the evaluation plays the twin, which would measure another world)."""
    cfg = trainer.cfg.evaluation
    if not cfg.enabled:
        return None
    if _unity_env(args) is not None or trainer.cfg.backend != "twin":
        where = "a Unity build" if _unity_env(args) is not None else trainer.cfg.backend
        print(f"hideseek train: no periodic evaluation: it plays the twin, this run {where}",
              file=sys.stderr)
        return None
    return PeriodicEvaluation(cfg, trainer.world, trainer.device)


def _unity_env(args) -> str | None:
    """The Unity build of ``--env`` (None for the in-process twin: no flag or ``twin``)."""
    env = getattr(args, "env", None)
    return None if env in (None, "twin") else env


RAY_FLAGS = {"workers": "--workers", "envs_per_worker": "--envs-per-worker",
             "max_policy_lag": "--max-policy-lag", "sample_timeout": "--sample-timeout",
             "min_fraction": "--min-fraction", "max_worker_restarts": "--max-worker-restarts"}


def ray_config(args):
    """``RayConfig`` from ``--ray ADDRESS`` and its flags, or None without ``--ray`` (then none
    of its flags may be given)."""
    given = {k: getattr(args, k) for k in RAY_FLAGS if getattr(args, k, None) is not None}
    address = getattr(args, "ray", None)
    if address is None:
        if given:
            name = next(iter(given))
            raise ConfigError("command line", RAY_FLAGS[name], given[name],
                              "alongside --ray auto|local|ADDRESS")
        return None
    from ..ray_sampler import RayConfig
    env = _unity_env(args)
    # Workers open the build on their own nodes, from their own working directory: an absolute
    # path (the same on every node, docs/ray.md).
    return RayConfig(address=address, env=str(Path(env).resolve()) if env else "twin", **given)


def main(args) -> int:
    trainer, resume = prepare(args)
    cfg, run_dir = trainer.cfg, trainer.run_dir
    if resume is not None:
        load(trainer, *resume)
        print(f"hideseek train: resumed {run_dir} at update {trainer.update} "
              f"({trainer.agent_steps} agent-steps)", file=sys.stderr)
    else:
        print(f"hideseek train: run directory {run_dir}", file=sys.stderr)
        if cfg.baseline_arenas > 0 and _unity_env(args) is None:
            base = random_rollout_stats(trainer.world, cfg.baseline_arenas, cfg.seed + 10_000,
                                        trainer.device)
            (run_dir / BASELINE_FILE).write_text(json.dumps(base, indent=1))
            ceiling = scripted_ceiling_stats(trainer.world, cfg.baseline_arenas,
                                             cfg.seed + 10_000, trainer.device)
            if ceiling is not None:
                (run_dir / CEILING_FILE).write_text(json.dumps(ceiling, indent=1))

    def on_sigint(signum, frame):
        # First Ctrl-C: finish the current update, checkpoint, exit. Second: abort now.
        trainer.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nhideseek train: interrupted; saving a checkpoint after this update "
              "(Ctrl-C again to abort without saving)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    log = ScalarLog(run_dir, trainer.update if resume is not None else None, cfg.tensorboard)
    worker_errors = _worker_errors(_unity_env(args), getattr(args, "ray", None))
    try:
        reason = run(trainer, log, evaluate=periodic_evaluation(trainer, args))
    except worker_errors as exc:
        path = save(trainer)
        print(f"hideseek train: a worker failed and could not recover: {exc}\n"
              f"checkpoint saved to {path}; continue with --resume {run_dir}", file=sys.stderr)
        return 1
    finally:
        log.close()
        signal.signal(signal.SIGINT, previous)
        trainer.close()
    print(f"hideseek train: stopped ({reason}) at update {trainer.update}, "
          f"{trainer.agent_steps} agent-steps, {trainer.elapsed / 60:.1f} min; "
          f"checkpoint in {run_dir / 'checkpoints'}", file=sys.stderr)
    if cfg.plot:
        from ..plots import write_dashboard
        for p in write_dashboard(run_dir):
            print(f"hideseek train: wrote {p}", file=sys.stderr)
    return 130 if reason == "stopped" else 0


def _worker_errors(env: str | None, ray: str | None) -> tuple[type[BaseException], ...]:
    """The worker failures to catch at the top level: a Unity process (in this process) or a
    Ray rollout worker past its restart budget. Imported only where they can happen."""
    out: list[type[BaseException]] = []
    if env and not ray:
        from ..envs.unity_vec import UnityWorkerError
        out.append(UnityWorkerError)
    if ray:
        from ..ray_sampler import RolloutWorkerError
        out.append(RolloutWorkerError)
    return tuple(out)
