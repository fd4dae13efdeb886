"""The ``hideseek`` command line. Each subcommand's work lives in its own module; this file only
declares arguments and dispatches (imports are lazy so ``hideseek --help`` is instant)."""

from __future__ import annotations

import argparse
import importlib
import sys

from .config_io import ConfigError


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="roll out random policies in the twin; write a GIF and stats")
    p.add_argument("--arena", default="quadrant", help="arena name or YAML path")
    p.add_argument("--episodes", type=int, default=64, help="episodes for the statistics")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/demo", help="output folder")
    p.add_argument("overrides", nargs="*", help="world overrides key=value")
    p.set_defaults(entry="hideseek.demo:main")


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train both teams with MAPPO + ICM (self-play)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  hideseek train --config configs/train/quadrant.yaml max_minutes=5 ppo.lr=3e-4\n"
               "  hideseek train --resume runs/quadrant-20260101-120000 total_agent_steps=40000000\n"
               "writes runs/<name>-<time>/ (config.yaml, scalars.jsonl, tb/, checkpoints/, plots/);\n"
               "Ctrl-C saves a checkpoint and exits. See docs/training.md.")
    p.add_argument("--config", default="configs/train/quadrant.yaml", help="training config YAML")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run exactly")
    p.add_argument("--env", default=None, metavar="PATH",
                   help="train through ML-Agents against a Unity build (or the twin launcher)")
    p.add_argument("--num-envs", type=int, default=1, help="Unity processes with --env")
    p.add_argument("overrides", nargs="*", help="config overrides key=value (dotted keys)")
    p.set_defaults(entry="hideseek.train:main")


def _add_plot(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="write the emergence dashboard PNGs of a run")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="output folder (default RUN_DIR/plots)")
    p.set_defaults(entry="hideseek.plots:main")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export Hider.onnx and Seeker.onnx for Unity ML-Agents")
    p.add_argument("run_dir")
    p.add_argument("--checkpoint", type=int, default=None, help="update number (default latest)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(entry="hideseek.export:main")


def _add_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="decentralized playback of ONNX policies (onnxruntime only)")
    p.add_argument("--hider", required=True, help="Hider.onnx")
    p.add_argument("--seeker", required=True, help="Seeker.onnx")
    p.add_argument("--env", default="twin", help="'twin' or the path of a Unity build")
    p.add_argument("--arena", default="quadrant")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--video", default=None, help="out.gif or out.mp4 (twin only)")
    p.add_argument("--video-episodes", type=int, default=1, help="episodes recorded into --video")
    p.add_argument("--deterministic", action="store_true",
                   help="use deterministic_discrete_actions instead of the in-graph sample")
    p.set_defaults(entry="hideseek.play:main")


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run's PyTorch policies")
    p.add_argument("target", help="RUN_DIR or a checkpoint file")
    p.add_argument("--checkpoint", type=int, default=None, help="update number (default latest)")
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deterministic", action="store_true", help="arg-max actions, no sampling")
    p.set_defaults(entry="hideseek.play:eval_main")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hideseek", description="Multi-agent hide-and-seek for Unity ML-Agents: the batched "
        "twin, MAPPO + ICM self-play training, ONNX export and playback.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_train, _add_plot, _add_export, _add_play, _add_eval):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = args.entry.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args) or 0)
    except ConfigError as exc:
        print(f"hideseek {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
