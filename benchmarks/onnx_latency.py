"""Decision latency of an exported policy under onnxruntime (CPU), batch 1 and 64.

Exports the default model (``ModelConfig()``, untrained: latency does not depend on the weights)
for an arena, then times ``OnnxPolicy.act`` (the call ``hideseek play`` makes) and, for
reference, the PyTorch actor plus the same masking head, both measured in this one run.
Target (issue 4): < 0.2 ms per agent at batch 1 on CPU.

    .venv/bin/python benchmarks/onnx_latency.py [--arena quadrant] [--repeats 2000] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from hideseek.contract import load_world_config
from hideseek.export import ExportedActor, export_actor, random_batch, verify_export
from hideseek.models import Actor, ModelConfig
from hideseek.onnx_policy import OnnxPolicy

TARGET_MS_PER_AGENT = 0.2


def _median_ms(fn, repeats: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arena", default="quadrant")
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()

    world = load_world_config(args.arena)
    torch.manual_seed(0)
    actor = Actor(world.layout, ModelConfig()).eval()
    wrapper = ExportedActor(actor).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_actor(actor, world.layout, "hider", Path(tmp) / "Hider.onnx")
        verify_export(path, actor, world.layout, "hider", [random_batch(world.layout, 8, 0, 1)])
        policy = OnnxPolicy(path, threads=args.threads)
        print(f"default model ({args.arena}, {sum(p.numel() for p in actor.parameters())} "
              f"parameters), onnxruntime threads={args.threads}, torch threads="
              f"{torch.get_num_threads()}, median of {args.repeats} calls")
        print(f"{'batch':>5}  {'onnx ms/call':>12}  {'onnx ms/agent':>13}  {'torch ms/call':>13}  "
              f"{'torch/onnx':>10}")
        for batch in (1, 64):
            b = random_batch(world.layout, batch, 0, seed=batch)
            onnx_ms = _median_ms(lambda: policy.act(b.obs, b.masks), args.repeats)
            args_t = b.torch_args()

            def torch_call() -> None:
                with torch.no_grad():
                    wrapper(*args_t)

            torch_ms = _median_ms(torch_call, max(args.repeats // 4, 50))
            print(f"{batch:>5}  {onnx_ms:12.4f}  {onnx_ms / batch:13.5f}  {torch_ms:13.4f}  "
                  f"{torch_ms / onnx_ms:10.2f}")
            if batch == 1:
                verdict = "meets" if onnx_ms < TARGET_MS_PER_AGENT else "MISSES"
                print(f"       batch-1 latency {onnx_ms:.4f} ms {verdict} the "
                      f"{TARGET_MS_PER_AGENT} ms/agent target "
                      f"(ratio {onnx_ms / TARGET_MS_PER_AGENT:.2f} of the budget)")


if __name__ == "__main__":
    main()
