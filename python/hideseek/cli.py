"""The ``hideseek`` command line. Each subcommand's work lives in its own module; this file only
declares arguments, checks the ones it can check without loading anything, and dispatches
(imports are lazy so ``hideseek --help`` is instant).

Every bad input ends with exit code 2 and one line on stderr that names the value and what was
expected: argument types below for values argparse sees, ``ConfigError`` for what the
subcommand finds in files (configs, checkpoints, ONNX models).
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import os
import re
import sys
from pathlib import Path

from .backends import BACKENDS
from .config_io import ConfigError
from .envs.mlagents_compat import BIND_ADDRESS_ENV  # light: imports no mlagents_envs
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), like the rest of the CLI's messages."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- argument types

def _int_at_least(low: int, what: str = "an integer"):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


positive_int = _int_at_least(1)
count_or_zero = _int_at_least(0)
seed_int = _int_at_least(0, "a seed (an integer)")


def unity_build(text: str) -> str:
    """The path of a Unity Linux player (or the twin launcher): an existing executable file."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist; expected the path of a "
                                         "Unity build's executable (e.g. builds/linux/"
                                         "HideAndSeek.x86_64)")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected the Unity build's "
                                         "executable file inside it (e.g. HideAndSeek.x86_64)")
    if not os.access(path, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not executable; expected a Unity build's "
                                         f"executable file (chmod +x {text})")
    return text


def twin_or_build(text: str) -> str:
    return text if text == "twin" else unity_build(text)


def output_dir(text: str) -> str:
    """A folder that exists or can be created: no part of the path may be a file."""
    path = Path(text)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise argparse.ArgumentTypeError(
                    f"{text!r}: {str(part)!r} is a file; expected a folder (existing or new)")
            if not os.access(part, os.W_OK | os.X_OK):
                raise argparse.ArgumentTypeError(
                    f"{text!r}: {str(part)!r} is not writable; expected a folder you can write")
            break
    return text


def bind_address(text: str) -> str:
    """An IP address or host name for the trainer's gRPC server to listen on."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(candidate)
        return text
    except ValueError:
        pass
    if _HOSTNAME.match(text):
        return text
    raise argparse.ArgumentTypeError(f"expected an IP address or host name (e.g. 127.0.0.1, "
                                     f"0.0.0.0, [::]), got {text!r}")


def ray_address(text: str) -> str:
    """Where Ray runs: ``local`` (start one here), ``auto`` (the cluster this node joined) or a
    cluster address (HOST:PORT or ray://HOST:PORT)."""
    if text in ("local", "auto"):
        return text
    host, sep, port = text.removeprefix("ray://").rpartition(":")
    if sep and port.isdigit() and 0 < int(port) < 65536:
        try:
            bind_address(host)  # the same host rule as --bind-address
            return text
        except argparse.ArgumentTypeError:
            pass
    raise argparse.ArgumentTypeError(f"expected local, auto or a Ray address HOST:PORT "
                                     f"(e.g. 10.0.0.1:6379 or ray://10.0.0.1:10001), got {text!r}")


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1], got {text!r}")
    return value


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="roll out random policies in the twin; write a GIF and stats")
    p.add_argument("--arena", default="quadrant", help="arena name or YAML path")
    p.add_argument("--episodes", type=positive_int, default=64, help="episodes for the statistics")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", type=output_dir, default="runs/demo", help="output folder")
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
    p.add_argument("--env", type=twin_or_build, default=None, metavar="PATH|twin",
                   help="train through ML-Agents against a Unity build (or the twin launcher); "
                        "twin: the in-process twin (the default)")
    p.add_argument("--num-envs", type=positive_int, default=1, help="Unity processes with --env")
    p.add_argument("--bind-address", type=bind_address, default=None, metavar="ADDR",
                   help="address the trainer's ML-Agents server listens on (default: loopback "
                        "only; e.g. 0.0.0.0 for builds on another host)")
    ray = p.add_argument_group("rollouts on Ray (docs/ray.md); without --ray nothing changes")
    ray.add_argument("--ray", type=ray_address, default=None, metavar="auto|local|ADDRESS",
                     help="play rollouts on Ray workers: local (start Ray here), auto (this "
                          "node's cluster) or HOST:PORT")
    ray.add_argument("--workers", type=positive_int, default=None,
                     help="rollout workers, each playing num_arenas / N arenas (default 2)")
    ray.add_argument("--envs-per-worker", type=positive_int, default=None,
                     help="Unity processes per worker with --env PATH (default 1)")
    ray.add_argument("--max-policy-lag", type=count_or_zero, default=None,
                     help="updates a fragment may lag behind; 0: exact on-policy, 1 (default): "
                          "sampling overlaps the update")
    ray.add_argument("--sample-timeout", type=positive_seconds, default=None, metavar="S",
                     help="seconds to wait for stragglers (default 60)")
    ray.add_argument("--min-fraction", type=fraction, default=None,
                     help="share of the arenas needed to train without stragglers (default 0.5)")
    ray.add_argument("--max-worker-restarts", type=count_or_zero, default=None,
                     help="restarts per worker before training stops with a checkpoint "
                          "(default 3)")
    p.add_argument("overrides", nargs="*", help="config overrides key=value (dotted keys)")
    p.set_defaults(entry="hideseek.train:main")


def _add_plot(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="write the emergence dashboard PNGs of a run")
    p.add_argument("run_dir")
    p.add_argument("--out", type=output_dir, default=None,
                   help="output folder (default RUN_DIR/plots)")
    p.set_defaults(entry="hideseek.plots:main")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export Hider.onnx and Seeker.onnx for Unity ML-Agents")
    p.add_argument("run_dir")
    p.add_argument("--checkpoint", type=count_or_zero, default=None,
                   help="update number (default: the newest that loads)")
    p.add_argument("--out", type=output_dir, required=True, help="output folder")
    p.set_defaults(entry="hideseek.export:main")


def _add_replay_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replay", default=None, metavar="FILE.html",
                   help="write a 3-D replay of the first episodes: one HTML file that opens in "
                        "any browser, no server (twin only)")
    p.add_argument("--replay-episodes", type=positive_int, default=10,
                   help="episodes recorded into --replay (default 10)")


def _add_backend_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="twin",
                   help="the in-process engine: twin (default) or physx (the world on PhysX 5; "
                        "needs the physx extra)")


def _add_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="decentralized playback of ONNX policies (onnxruntime only)")
    p.add_argument("--hider", default=None,
                   help="Hider.onnx (default: the shipped pretrained models/quadrant/Hider.onnx)")
    p.add_argument("--seeker", default=None,
                   help="Seeker.onnx (default: the shipped pretrained models/quadrant/Seeker.onnx)")
    p.add_argument("--env", type=twin_or_build, default="twin",
                   help="'twin' or the path of a Unity build")
    _add_backend_flag(p)
    p.add_argument("--arena", default="quadrant")
    p.add_argument("--episodes", type=positive_int, default=10)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--video", default=None, help="out.gif or out.mp4 (twin only)")
    p.add_argument("--video-episodes", type=positive_int, default=1,
                   help="episodes recorded into --video")
    p.add_argument("--deterministic", action="store_true",
                   help="use deterministic_discrete_actions instead of the in-graph sample")
    _add_replay_flags(p)
    p.set_defaults(entry="hideseek.play:main")


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run's PyTorch policies")
    p.add_argument("target", help="RUN_DIR or a checkpoint file")
    p.add_argument("--checkpoint", type=count_or_zero, default=None,
                   help="update number (default: the newest that loads)")
    p.add_argument("--episodes", type=positive_int, default=32)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--deterministic", action="store_true", help="arg-max actions, no sampling")
    _add_backend_flag(p)
    _add_replay_flags(p)
    p.set_defaults(entry="hideseek.play:eval_main")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hideseek", description="Multi-agent hide-and-seek for Unity ML-Agents: the batched "
        "twin, MAPPO + ICM self-play training, ONNX export and playback.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_train, _add_plot, _add_export, _add_play, _add_eval):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "bind_address", None):
        # Passed down through the environment so every UnityEnvironment the subcommand opens
        # (and the workers UnityVecSim restarts) binds there.
        os.environ[BIND_ADDRESS_ENV] = args.bind_address
    module_name, func_name = args.entry.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args) or 0)
    except ConfigError as exc:
        print(f"hideseek {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A Unity build that does not start, does not speak the protocol or finds its port
        # taken: a clear line, not a traceback through mlagents_envs. (Looked up in
        # sys.modules so this module never imports the Unity path itself.)
        reader = sys.modules.get("hideseek.envs.unity_reader")
        if reader is not None and isinstance(exc, reader.UnityError):
            print(f"hideseek {args.command}: {exc}", file=sys.stderr)
            return 1
        physx = sys.modules.get("hideseek.physx")
        if physx is not None and isinstance(exc, physx.PhysxUnavailable):
            print(f"hideseek {args.command}: {exc}", file=sys.stderr)
            return 2
        ray_sampler = sys.modules.get("hideseek.ray_sampler")
        if ray_sampler is not None and isinstance(exc, ray_sampler.RolloutWorkerError):
            print(f"hideseek {args.command}: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
