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
from .log import ScalarLog, to_host
from .state import load, save
from ..demo import random_rollout_stats
from .trainer import Trainer

BASELINE_FILE = "baseline.json"


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
            before = trainer.agent_steps
            scalars = to_host(trainer.train_update())
            log.write(trainer.update, trainer.agent_steps, trainer.elapsed, scalars)
            bar.update(trainer.agent_steps - before)  # a partial Ray round trains on fewer
            bar.set_postfix(sps=f"{scalars['perf/sps']:.0f}",
                            hidden=f"{scalars['episode/hidden_fraction']:.2f}",
                            left=(f"{max(cfg.max_minutes - trainer.elapsed / 60, 0):.1f}min"
                                  if cfg.max_minutes > 0 else "-"))
            if trainer.update % cfg.checkpoint_every == 0:
                save(trainer)
    finally:
        bar.close()
    if not list_checkpoints(trainer.run_dir) or max(list_checkpoints(trainer.run_dir)) != trainer.update:
        save(trainer)
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
    picked = None
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    elif torch.device(cfg.device).type == "cpu":
        # More threads help only where cores are free: measure on this machine, now.
        from ..sim import pick_threads
        picked = pick_threads(world, min(cfg.num_arenas, 1024), compile=cfg.sim_compile)
        torch.set_num_threads(picked)
    if env and ray is None:
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
        print(f"hideseek train: {picked} torch thread(s), the fastest measured here "
              f"(torch_threads=N to choose)", file=sys.stderr)
    return trainer, resume


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
        reason = run(trainer, log)
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
