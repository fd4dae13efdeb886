"""A trainer's whole state as flat tensors + JSON metadata for a safetensors checkpoint, and back.

Keys: ``model.<team>.*`` is the network a team plays (both teams' keys hold the same weights when
the policy is shared; export and evaluation read only these), ``group.<name>.*`` the rest of a
policy group (value normalizer, curiosity), ``optimizer.<name>`` the packed optimizer,
``memory``, ``rng.*``, ``sim.*`` and ``pool.<i>.<name>.*``. Nothing is pickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..checkpoint import (CheckpointError, checkpoint_name, load_checkpoint, pack, save_checkpoint,
                          sub_state, unpack)
from ..config_io import to_dict
from ..contract import TEAMS, world_to_dict
from .config import config_to_dict
from .trainer import Trainer


def _group_rest(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith("model.")}


def state_tensors(tr: Trainer) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for team in TEAMS:
        for k, v in tr.learner.groups[tr.group_of[team]].model.state_dict().items():
            tensors[f"model.{team}.{k}"] = v
    for name, g in tr.learner.groups.items():
        for k, v in _group_rest(g.state_dict()).items():
            tensors[f"group.{name}.{k}"] = v
        meta[f"optimizer.{name}"] = pack(g.optimizer.state_dict(), f"optimizer.{name}", tensors)
    if tr.collector is not None and tr.collector.memory is not None:
        tensors["memory"] = tr.collector.memory
        # Which arenas a frozen opponent played last: the next rollout empties the memory of
        # slots whose player changes, so a resumed run must know it too.
        meta["played_by"] = dict(tr.collector.played_by)
    if tr.collector is not None and tr.collector.starts is not None:
        for k, v in tr.collector.starts.state_tensors().items():
            tensors[f"curriculum.{k}"] = v
    tensors["rng.sample"] = tr.gen_sample.get_state()
    tensors["rng.minibatch"] = tr.gen_minibatch.get_state()
    tensors["rng.opponent"] = tr.pool.generator.get_state()
    sim_state = getattr(tr.sim, "state", None)
    meta["sim_state_saved"] = hasattr(sim_state, "tensors")
    if meta["sim_state_saved"]:
        for k, v in sim_state.tensors().items():
            tensors[f"sim.{k}"] = v
    meta["pool"] = []
    for i, (u, snap) in enumerate(tr.pool.snapshots):
        meta["pool"].append(u)
        for name, actor_state in snap.items():
            for k, v in actor_state.items():
                tensors[f"pool.{i}.{name}.{k}"] = v
    meta.update(world=world_to_dict(tr.world), model=to_dict(tr.cfg.model),
                train=config_to_dict(tr.cfg, tr.world_over), update=tr.update,
                agent_steps=tr.agent_steps, elapsed=tr.elapsed,
                teams=list(TEAMS), agent_names=list(tr.layout.agent_names))
    return tensors, meta


def save(tr: Trainer) -> Path:
    tensors, meta = state_tensors(tr)
    return save_checkpoint(tr.run_dir / "checkpoints" / checkpoint_name(tr.update), tensors, meta)


def _restore_sim(tr: Trainer, saved: dict[str, torch.Tensor]) -> bool:
    """Put the simulator back where the checkpoint left it, if it is the same kind of state for
    the same number of arenas (a Unity run or another arena count has none to restore)."""
    current = getattr(tr.sim, "state", None)
    if not saved or not hasattr(current, "tensors") or set(saved) != set(current.tensors()) \
            or saved["t"].shape != current.tensors()["t"].shape:
        return False
    tr.sim.state = type(current)(**{k: v.to(tr.device) for k, v in saved.items()})
    return True


def load(tr: Trainer, path: Path, tensors: dict[str, torch.Tensor] | None = None,
         meta: dict | None = None) -> None:
    """Restore ``tr`` from a checkpoint (``tensors``/``meta`` if already read)."""
    if tensors is None or meta is None:
        tensors, meta = load_checkpoint(path)
    try:
        for name, g in tr.learner.groups.items():
            team = next(t for t in TEAMS if tr.group_of[t] == name)
            g.model.load_state_dict(sub_state(tensors, f"model.{team}"))
            g.load_state_dict({**{f"model.{k}": v for k, v in g.model.state_dict().items()},
                               **sub_state(tensors, f"group.{name}")})
            g.optimizer.load_state_dict(unpack(meta[f"optimizer.{name}"], tensors, path))
        tr.gen_sample.set_state(tensors["rng.sample"])
        tr.gen_minibatch.set_state(tensors["rng.minibatch"])
        tr.pool.generator.set_state(tensors["rng.opponent"])
        tr.pool.snapshots = [(u, {name: sub_state(tensors, f"pool.{i}.{name}")
                                  for name in tr.learner.groups})
                             for i, u in enumerate(meta["pool"])]
    except (KeyError, RuntimeError, ValueError, StopIteration) as exc:
        raise CheckpointError(path, f"does not match this run ({str(exc).splitlines()[0]})",
                              "a checkpoint of the same run config") from None
    collector = tr.collector  # None where rollouts run in several blocks or on Ray workers
    if collector is not None and collector.memory is not None and "memory" in tensors \
            and tensors["memory"].shape[0] == tr.sim.num_arenas:
        collector.memory = tensors["memory"].to(tr.device)
        collector.played_by = {str(k): int(v) for k, v in meta.get("played_by", {}).items()}
    if collector is not None and collector.starts is not None:
        collector.starts.load_state_tensors(sub_state(tensors, "curriculum"))
    saved = sub_state(tensors, "sim") if meta.get("sim_state_saved") else {}
    if collector is not None and _restore_sim(tr, saved):
        collector.obs = tr.sim.observe()
    else:
        # No simulator state (Unity, Ray workers) or another arena count: fresh episodes.
        tr.sampler.reset(tr.cfg.seed + int(meta["update"]))
    tr.update, tr.agent_steps = int(meta["update"]), int(meta["agent_steps"])
    tr.elapsed = float(meta["elapsed"])
