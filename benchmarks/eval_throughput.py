"""Evaluation speed: ``hideseek play --episodes 400`` on the shipped pair as a whole process
(start-up included; goal <= 15 s on 2 cores), the one-arena PettingZoo path it replaced (per
episode, for the speed-up), and the trainer's periodic evaluation on the demo config (seconds per
evaluation and its share of a 14-minute run).

    .venv/bin/python benchmarks/eval_throughput.py [--repeats 3] [--episodes 400]
        [--one-arena-episodes 10] [--train-config configs/train/quadrant.yaml] [--threads 1]

Prints what it measured with the load average beside each timing; the last line is
``eval_play_400_s <best of the repeats>``. Timings on a shared machine follow its load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from hideseek.contract import REPO_ROOT


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def time_play(episodes: int) -> float:
    """Wall seconds of `hideseek play --episodes N` in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hideseek.cli", "play", "--episodes", str(episodes)],
                   check=True, stdout=subprocess.DEVNULL, cwd=REPO_ROOT)
    return time.perf_counter() - start


def time_one_arena(episodes: int) -> float:
    """Seconds per episode of the one-arena PettingZoo path (what `play` did before)."""
    import torch

    from hideseek.play import SHIPPED_MODELS, load_policies, open_env, play_episodes

    torch.set_num_threads(1)
    policies = load_policies(SHIPPED_MODELS / "Hider.onnx", SHIPPED_MODELS / "Seeker.onnx", seed=0)
    env = open_env("twin", "quadrant")
    try:
        start = time.perf_counter()
        play_episodes(policies, env, episodes, seed=0)
        return (time.perf_counter() - start) / episodes
    finally:
        env.close()


def time_periodic_evaluation(config: Path, threads: int) -> dict[str, float]:
    """One training update and one periodic evaluation of a fresh trainer of ``config``."""
    import torch

    from hideseek.train import Trainer, load_train_config
    from hideseek.train.evaluation import PeriodicEvaluation

    torch.set_num_threads(threads)
    cfg, world, wo = load_train_config(config, {"progress": False, "tensorboard": False,
                                                "torch_threads": threads})
    trainer = Trainer(cfg, world, Path("/nonexistent-benchmark-run"), world_over=wo)
    trainer.train_update()                      # warm-up
    start = time.perf_counter()
    trainer.train_update()
    update = time.perf_counter() - start
    evaluate = PeriodicEvaluation(cfg.evaluation, world, trainer.device)
    evaluate(trainer, final=True)               # the first call also builds its twin
    start = time.perf_counter()
    evaluate(trainer, final=True)
    evaluation = time.perf_counter() - start
    trainer.close()
    budget = (cfg.max_minutes or 14.0) * 60
    # Updates in the time budget; an evaluation at every `every`-th checkpoint and at the last.
    # Evaluation time is not training time, so it lengthens the run by this much.
    evaluations = int(budget / update / cfg.checkpoint_every / cfg.evaluation.every) + 1
    return {"update_s": update, "eval_s": evaluation, "evaluations": evaluations,
            "eval_total_s": evaluations * evaluation, "budget_s": budget,
            "episodes": cfg.evaluation.episodes,
            "every": cfg.checkpoint_every * cfg.evaluation.every}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=400)
    ap.add_argument("--one-arena-episodes", type=int, default=10,
                    help="episodes timed on the one-arena path (0: skip)")
    ap.add_argument("--train-config", type=Path, default=REPO_ROOT / "configs/train/quadrant.yaml",
                    help="config whose periodic evaluation is timed ('none': skip)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of that trainer")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, {load()}")
    runs = []
    for i in range(args.repeats):
        before = load()
        runs.append(time_play(args.episodes))
        print(f"hideseek play --episodes {args.episodes}: {runs[-1]:.1f} s "
              f"(before: {before}; after: {load()})")
    if args.one_arena_episodes > 0:
        per = time_one_arena(args.one_arena_episodes)
        print(f"one-arena path: {per:.2f} s per episode ({args.one_arena_episodes} episodes, "
              f"{load()}), {per * args.episodes:.0f} s for {args.episodes}: "
              f"{per * args.episodes / min(runs):.0f}x the batched play")
    if str(args.train_config) != "none":
        r = time_periodic_evaluation(args.train_config, args.threads)
        print(f"periodic evaluation ({args.train_config.name}, {args.threads} thread(s), "
              f"{r['episodes']} episodes x 2 modes): {r['eval_s']:.1f} s each; one update "
              f"{r['update_s']:.2f} s, an evaluation every {r['every']} updates and at the end "
              f"-> {r['evaluations']} in {r['budget_s'] / 60:.0f} min, "
              f"{r['eval_total_s'] / 60:.1f} min of evaluation "
              f"({100 * r['eval_total_s'] / r['budget_s']:.0f}% on top of training; {load()})")
    print(f"eval_play_{args.episodes}_s {min(runs):.1f}")


if __name__ == "__main__":
    main()
