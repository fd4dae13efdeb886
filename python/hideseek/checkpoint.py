"""Checkpoints: one safetensors file per save, tensors plus JSON metadata, written atomically.

Nothing is ever unpickled: tensors come from safetensors, everything else (configs, counters,
optimizer hyper-parameters, the structure of nested state dicts) is JSON stored in the
safetensors header under the key ``hideseek``. A file is written to a temporary name in the same
folder, fsynced, then ``os.replace``d over the final name, so a crash never leaves a torn file.

Layout of a run directory written by ``hideseek train``::

    RUN_DIR/config.yaml                      resolved training config
    RUN_DIR/checkpoints/update_0000010.safetensors
    RUN_DIR/scalars.jsonl                    one JSON line of scalars per update
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import Tensor

from .config_io import ConfigError, build
from .contract import WorldConfig, world_from_dict

FORMAT = "hideseek-checkpoint/1"
META_KEY = "hideseek"
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^update_(\d+)\.safetensors$")


class CheckpointError(ConfigError):
    """A checkpoint or run directory is missing, garbled, or not what was asked for."""

    def __init__(self, path: str | Path, problem: str, expected: str):
        super().__init__(str(path), "<checkpoint>", problem, expected)


def checkpoint_name(update: int) -> str:
    return f"update_{update:07d}.safetensors"


# --------------------------------------------------------------------------- raw files

def save_checkpoint(path: str | Path, tensors: dict[str, Tensor], meta: dict) -> Path:
    """Write ``tensors`` and JSON-serialisable ``meta`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage: give it private contiguous copies.
    data = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    header = json.dumps({"format": FORMAT, **meta}, sort_keys=True)
    blob = st_save(data, metadata={META_KEY: header})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    # Make the rename itself durable.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def load_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], dict]:
    """Read a file written by :func:`save_checkpoint` -> ``(tensors on CPU, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file", "an existing .safetensors checkpoint")
    raw = path.read_bytes()
    try:
        tensors = st_load(raw)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(path, f"unreadable ({exc})",
                              "a safetensors file written by hideseek train") from None
    try:
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        meta = json.loads(header["__metadata__"][META_KEY])
    except (KeyError, ValueError, TypeError):
        raise CheckpointError(path, "no hideseek metadata",
                              "a checkpoint written by hideseek train") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(path, f"format {meta.get('format')!r}", f"format {FORMAT!r}")
    return tensors, meta


# --------------------------------------------------------------------------- nested state

def pack(tree: Any, prefix: str, tensors: dict[str, Tensor]) -> Any:
    """Move every tensor of a nested dict/list (e.g. an optimizer state dict) into ``tensors``
    under ``prefix...`` and return the JSON-able remainder with ``{"__tensor__": key}`` leaves."""
    if isinstance(tree, Tensor):
        tensors[prefix] = tree
        return {"__tensor__": prefix}
    if isinstance(tree, dict):
        # JSON keys are strings: remember int keys (optimizer state is keyed by param index).
        return {"__dict__": [[k, pack(v, f"{prefix}.{k}", tensors)] for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return [pack(v, f"{prefix}.{i}", tensors) for i, v in enumerate(tree)]
    return tree


def unpack(tree: Any, tensors: dict[str, Tensor], source: str | Path = "<checkpoint>") -> Any:
    """Inverse of :func:`pack`."""
    if isinstance(tree, dict) and "__tensor__" in tree:
        key = tree["__tensor__"]
        if key not in tensors:
            raise CheckpointError(source, f"missing tensor {key!r}", "a complete checkpoint")
        return tensors[key]
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: unpack(v, tensors, source) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [unpack(v, tensors, source) for v in tree]
    return tree


def sub_state(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The entries under ``prefix.`` with the prefix removed (a module's state dict)."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


# --------------------------------------------------------------------------- run directories

def list_checkpoints(run_dir: str | Path) -> dict[int, Path]:
    """update number -> checkpoint file, for every checkpoint in ``RUN_DIR/checkpoints``."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return {}
    out = {}
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def load_latest(run_dir: str | Path, warn: TextIO | None = None
                ) -> tuple[Path, dict[str, Tensor], dict]:
    """The newest checkpoint of ``run_dir`` that loads -> ``(path, tensors, meta)``.

    A run killed while the disk filled up, or a file damaged afterwards, must not strand the
    run: each newer file that does not load is reported on ``warn`` (stderr by default) with the
    reason and skipped, never deleted, so the user can still inspect or repair it.
    """
    warn = sys.stderr if warn is None else warn
    found = list_checkpoints(run_dir)
    if not found:
        raise CheckpointError(run_dir, f"no {CHECKPOINT_DIR}/update_*.safetensors",
                              "a run directory that holds at least one checkpoint")
    reasons = []
    for update in sorted(found, reverse=True):
        path = found[update]
        try:
            tensors, meta = load_checkpoint(path)
        except CheckpointError as exc:
            reasons.append(f"{path.name}: {exc.value}")
            print(f"hideseek: skipping checkpoint {path} ({exc.value}); trying an older one "
                  "(the file is kept)", file=warn)
            continue
        return path, tensors, meta
    raise CheckpointError(run_dir, "no checkpoint loads (" + "; ".join(reasons) + ")",
                          "a run directory with at least one intact checkpoint")


def resolve_checkpoint(target: str | Path, checkpoint: int | None = None) -> tuple[Path, Path]:
    """``target`` (run dir or checkpoint file) -> (checkpoint file, run dir). For a run directory
    without ``checkpoint`` this is the newest file, whether or not it loads (see load_latest)."""
    target = Path(target)
    if target.is_file():
        if checkpoint is not None:
            raise CheckpointError(target, f"a file together with checkpoint={checkpoint}",
                                  "a run directory when a checkpoint number is given")
        run_dir = target.parent.parent if target.parent.name == CHECKPOINT_DIR else target.parent
        return target, run_dir
    if not target.is_dir():
        raise CheckpointError(target, "no such file or directory",
                              "a run directory (runs/<name>-<time>) or a checkpoint file")
    found = list_checkpoints(target)
    if not found:
        raise CheckpointError(target, f"no {CHECKPOINT_DIR}/update_*.safetensors",
                              "a run directory that holds at least one checkpoint")
    if checkpoint is None:
        return found[max(found)], target
    if checkpoint not in found:
        raise CheckpointError(target, f"no checkpoint for update {checkpoint}",
                              "one of updates " + ", ".join(map(str, found)))
    return found[checkpoint], target


@dataclass
class LoadedPolicy:
    """The decentralized policies of a run, ready for evaluation or export."""

    world: WorldConfig
    actors: dict[str, Any]       # "hider" / "seeker" -> hideseek.models.Actor (eval mode)
    run_dir: Path
    update: int
    meta: dict = field(default_factory=dict)
    path: Path | None = None


def load_policy(target: str | Path, checkpoint: int | None = None,
                device: str | torch.device = "cpu") -> LoadedPolicy:
    """Both teams' actors from a run directory (the newest checkpoint that loads, or update
    ``checkpoint``) or from a checkpoint file."""
    from .models import Actor, ModelConfig  # models import torch.nn; keep this module light

    path, run_dir = resolve_checkpoint(target, checkpoint)
    if checkpoint is None and Path(target).is_dir():
        path, tensors, meta = load_latest(run_dir)
    else:
        tensors, meta = load_checkpoint(path)
    for key in ("world", "model", "update"):
        if key not in meta:
            raise CheckpointError(path, f"metadata without {key!r}",
                                  "a checkpoint written by hideseek train")
    world = world_from_dict(meta["world"], f"{path} (world)")
    cfg = build(ModelConfig, meta["model"], f"{path} (model)")
    actors = {}
    for team in ("hider", "seeker"):
        actor = Actor(world.layout, cfg)
        state = sub_state(tensors, f"model.{team}.actor")
        try:
            actor.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise CheckpointError(path, f"{team} actor weights do not fit ({first})",
                                  "weights matching the checkpoint's world and model config") from None
        actors[team] = actor.to(device).eval()
    return LoadedPolicy(world=world, actors=actors, run_dir=run_dir, update=int(meta["update"]),
                        meta=meta, path=path)
