"""Training throughput on Ray rollout workers for 1, 2, 4, 8 workers, in one run.

Weak scaling: every worker plays the same arenas (``--arenas-per-worker``), so W workers make
W times the batch. Every step also costs ``--step-ms`` of sleep, a Unity-like step cost (the
in-process twin with a sleep per step; with ``--env PATH`` the workers run that build, and
the twin player gets ``--twin-step-sleep-ms``), so scaling shows even on a 2-core machine.
Training runs with ``max_policy_lag`` 1 (sampling overlaps the update). For each W it prints
agent-steps/s, the scaling efficiency sps(W) / (W * sps(1)), and the split of an update's wall
time into waiting for workers, the learner's update and the rest (weights put, assembly), and
the same for rollouts alone (rounds back to back, no update: what the workers deliver); then
Ray's overhead per fragment (W = 1, lag 0: a round's wall time minus the worker's own
time). The last line is ``ray_scaling_efficiency_8 <ratio>``.

    .venv/bin/python benchmarks/ray_scaling.py [--workers 1 2 4 8] [--step-ms 5]
        [--arenas-per-worker 2] [--updates 5] [--warmup 2] [--env PATH] [key=value ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import ray
import torch

from hideseek.config_io import merge, parse_overrides
from hideseek.ray_sampler import RayConfig
from hideseek.train import Trainer, load_train_config

SMALL = {"rollout_steps": 40, "progress": False, "tensorboard": False, "plot": False,
         "baseline_arenas": 0, "world": {"lidar_rays": 4},
         "model": {"embed_dim": 16, "hidden": 32}, "ppo": {"epochs": 1, "minibatches": 1},
         "icm": {"feature_dim": 8, "hidden": 16}}


def measure(workers: int, args, over: dict, lag: int = 1) -> dict:
    cfg, world, wo = load_train_config(None, merge(SMALL, dict(
        over, num_arenas=workers * args.arenas_per_worker)))
    env = args.env or "twin"
    unity_args = ("--twin-step-sleep-ms", str(args.step_ms)) if args.env else ()
    rc = RayConfig(workers=workers, max_policy_lag=lag, env=env, unity_args=unity_args,
                   step_sleep_ms=0.0 if args.env else args.step_ms, sample_timeout=300.0,
                   hang_timeout=600.0)
    trainer = Trainer(cfg, world, Path("/tmp/hideseek-ray-scaling"), world_over=wo, ray=rc)
    try:
        for _ in range(args.warmup):
            trainer.train_update()
        wait = update = other = overhead = 0.0
        steps0 = trainer.agent_steps
        t0 = time.perf_counter()
        for _ in range(args.updates):
            trainer.train_update()
            tm = trainer.sampler.timings
            wait += tm["wait"]
            other += tm["dispatch"] + tm["assemble"]
            overhead += tm["sample"] - tm["worker_sample"]
            update += trainer.last_update_s
        wall = time.perf_counter() - t0
        steps = trainer.agent_steps - steps0
        n = args.updates
        # Rollouts alone: the same rounds back to back, no learner update between them.
        t1, sampled = time.perf_counter(), 0
        for _ in range(args.updates):
            buf = trainer.sampler.sample(trainer.update, {})
            sampled += buf.steps * buf.arenas * trainer.layout.max_agents
        sample_sps = sampled / (time.perf_counter() - t1)
        return {"sps": steps / wall, "wall": wall, "wait": wait / wall, "update": update / wall,
                "other": other / wall, "overhead_per_fragment": overhead / n,
                "sample_sps": sample_sps, "restarts": sum(trainer.sampler.restarts)}
    finally:
        trainer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--step-ms", type=float, default=5.0)
    ap.add_argument("--arenas-per-worker", type=int, default=2)
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--env", default=None, help="a Unity build (default: the in-process twin)")
    ap.add_argument("overrides", nargs="*", help="training config overrides key=value")
    args = ap.parse_args()
    over = parse_overrides(args.overrides)
    cpus = max(os.cpu_count() or 1, max(args.workers) + 1)
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    print(f"ray {ray.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), {args.env or 'in-process twin'}, "
          f"{args.step_ms:g} ms per step, {args.arenas_per_worker} arenas x "
          f"{SMALL['rollout_steps']} steps per worker, {args.updates} updates after "
          f"{args.warmup} warm-up, max_policy_lag 1")
    results = {}
    for w in args.workers:
        results[w] = r = measure(w, args, over)
        base, scale = results[min(results)], w / min(results)
        print(f"workers {w:2d}: training {r['sps']:7.0f} agent-steps/s, efficiency "
              f"{r['sps'] / (scale * base['sps']):4.2f} (wait {r['wait']:.0%} update "
              f"{r['update']:.0%} other {r['other']:.0%}); rollouts alone "
              f"{r['sample_sps']:7.0f} agent-steps/s, efficiency "
              f"{r['sample_sps'] / (scale * base['sample_sps']):4.2f}; "
              f"restarts {r['restarts']}", flush=True)
    o = measure(1, args, over, lag=0)
    print(f"Ray overhead per fragment (1 worker, lag 0; round wall time minus the worker's "
          f"sample call): {1000 * o['overhead_per_fragment']:.1f} ms")
    ray.shutdown()
    if 8 in results and 1 in results:
        print(f"ray_scaling_efficiency_8 {results[8]['sps'] / (8 * results[1]['sps']):.3f}")
        # (training throughput; rollouts alone are in the table above)
    else:
        last = max(results)
        print(f"ray_scaling_efficiency_{last} "
              f"{results[last]['sps'] / (last / min(results) * results[min(results)]['sps']):.3f}")


if __name__ == "__main__":
    main()
