"""``hideseek export``: a run's actors as ``Hider.onnx`` / ``Seeker.onnx`` for Unity ML-Agents.

The shipped graph is the actor only (no critic, no ICM) wrapped in the ML-Agents model API 3
(``shared/ONNX_CONTRACT.md``): inputs ``obs_0..obs_3``, ``action_masks`` (+ ``recurrent_in``);
outputs ``version_number``, ``memory_size``, ``discrete_actions`` (sampled in the graph),
``discrete_action_output_shape``, ``deterministic_discrete_actions`` (+ ``recurrent_out``).
Every export verifies itself before it returns (``hideseek.export_verify``) and a file that
fails is deleted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

from . import __version__
from .contract import ACTION_BRANCHES, BEHAVIOR_NAMES, TEAMS, ObsLayout, WorldConfig, world_to_dict
from .export_verify import (OPSET, ExportError, VerifyReport, check_actor_fits, check_operators,
                            random_batch, random_masks, twin_batches, verify_export)
from .models import branch_probs, select_actions
from .onnx_policy import (DETERMINISTIC_OUTPUT, MEMORY_OUTPUT, META_LAYOUT, META_OBS_SHAPES,
                          META_PREFIX, META_TEAM, META_WORLD, MODEL_API_VERSION, SAMPLED_OUTPUT,
                          contract_input_names, contract_output_names)

__all__ = ["ExportError", "ExportedActor", "TEAM_FILES", "VerifyReport", "check_operators",
           "export_actor", "export_and_verify", "export_run", "random_batch", "random_masks",
           "verify_export"]

TEAM_FILES: dict[str, str] = {team: BEHAVIOR_NAMES[team].split("?")[0] + ".onnx" for team in TEAMS}


# ------------------------------------------------------------------------------ the graph
class GRUStep(nn.Module):
    """A one-layer, one-direction ``nn.GRU`` for a single time step, written with MatMul /
    Sigmoid / Tanh. Sentis has no ONNX ``GRU`` operator (it has ``LSTM``), so the export swaps
    every ``nn.GRU`` for this module, sharing its parameters; the parity check then compares the
    file against the original actor, which proves the two compute the same thing."""

    def __init__(self, gru: nn.GRU):
        super().__init__()
        if gru.num_layers != 1 or gru.bidirectional or not gru.bias:
            raise ExportError(f"cannot export {gru}: only one-layer, one-direction GRUs with bias")
        self.batch_first = gru.batch_first
        self.weight_ih, self.weight_hh = gru.weight_ih_l0, gru.weight_hh_l0
        self.bias_ih, self.bias_hh = gru.bias_ih_l0, gru.bias_hh_l0

    def forward(self, x: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
        step = x[:, 0] if self.batch_first else x[0]
        h = h0[0]
        i_r, i_z, i_n = nn.functional.linear(step, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = nn.functional.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        new = n + z * (h - n)  # = (1 - z) * n + z * h, PyTorch's GRU update
        return new.unsqueeze(1 if self.batch_first else 0), new.unsqueeze(0)


def sentis_compatible(actor: nn.Module) -> nn.Module:
    """A copy of ``actor`` whose layers all export to Sentis operators (GRUs are unrolled)."""
    import copy

    actor = copy.deepcopy(actor)
    for module in list(actor.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.GRU):
                setattr(module, name, GRUStep(child))
    return actor


class ExportedActor(nn.Module):
    """The actor in the ML-Agents calling convention; exactly what goes into the .onnx file."""

    def __init__(self, actor: nn.Module):
        super().__init__()
        self.actor = actor
        self.memory_size = int(getattr(actor, "memory_size", 0) or 0)
        # Constants are buffers so the exporter writes them as initializers, as ML-Agents does.
        self.register_buffer("version_number", torch.tensor([float(MODEL_API_VERSION)]))
        self.register_buffer("memory_size_out", torch.tensor([float(self.memory_size)]))
        self.register_buffer("branch_sizes", torch.tensor([[float(b) for b in ACTION_BRANCHES]]))

    def distribution(self, obs_0: Tensor, obs_1: Tensor, obs_2: Tensor, obs_3: Tensor,
                     action_masks: Tensor, recurrent_in: Tensor | None = None
                     ) -> tuple[list[Tensor], Tensor | None]:
        logits, memory = self.actor(obs_0, obs_1, obs_2, obs_3, memory=recurrent_in)
        return branch_probs(logits, action_masks), memory

    def forward(self, obs_0: Tensor, obs_1: Tensor, obs_2: Tensor, obs_3: Tensor,
                action_masks: Tensor, recurrent_in: Tensor | None = None) -> tuple[Tensor, ...]:
        probs, memory = self.distribution(obs_0, obs_1, obs_2, obs_3, action_masks, recurrent_in)
        # The deterministic output must read the probabilities directly (ArgMax(Softmax)):
        # verify_export finds the probabilities to compare as the inputs of these ArgMax nodes.
        outputs = (self.version_number, self.memory_size_out, select_actions(probs, False),
                   self.branch_sizes, select_actions(probs, True))
        if self.memory_size > 0:
            outputs = outputs + (memory,)
        return outputs


# ------------------------------------------------------------------------------ export
def export_actor(actor: nn.Module, layout: ObsLayout, team: str, path: str | Path,
                 metadata: dict[str, str] | None = None) -> Path:
    """Write ``actor`` as an ML-Agents ONNX policy for ``team``; does not verify (see
    :func:`verify_export`)."""
    if team not in TEAMS:
        raise ValueError(f"team {team!r}: expected one of {', '.join(TEAMS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportedActor(sentis_compatible(actor)).eval()
    m = wrapper.memory_size
    # Batch 3, not 1: a size-1 batch lets the tracer fold broadcasts into fixed shapes.
    dummy = random_batch(layout, 3, m, seed=0)
    inputs, outputs = contract_input_names(m), contract_output_names(m)
    dynamic = {name: {0: "batch"} for name in inputs}
    dynamic.update({name: {0: "batch"} for name in (SAMPLED_OUTPUT, DETERMINISTIC_OUTPUT)})
    if m > 0:
        dynamic[MEMORY_OUTPUT] = {0: "batch"}
    with warnings.catch_warnings():
        # The TorchScript exporter is chosen on purpose: it lets us pin the opset Sentis needs.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # recurrent_in feeds h0/c0, which is exactly what this batch-size warning asks for.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        with torch.no_grad():
            torch.onnx.export(wrapper, dummy.torch_args(), str(path), dynamo=False,
                              opset_version=OPSET, input_names=list(inputs),
                              output_names=list(outputs), dynamic_axes=dynamic,
                              do_constant_folding=True)
    model = onnx.load(str(path))
    meta = {META_TEAM: team, META_OBS_SHAPES: json.dumps([list(s) for s in layout.obs_shapes]),
            META_WORLD: json.dumps(world_to_dict(layout.world), sort_keys=True),
            META_LAYOUT: json.dumps(layout.describe(), sort_keys=True),
            META_PREFIX + "behavior_name": BEHAVIOR_NAMES[team],
            META_PREFIX + "version": __version__, **(metadata or {})}
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=str(value))
    model.producer_name = "hideseek"
    model.producer_version = __version__
    onnx.save(model, str(path))
    return path


def export_and_verify(actors: dict[str, nn.Module], world: WorldConfig, out: str | Path,
                      metadata: dict[str, str] | None = None, twin_obs: bool = True,
                      seed: int = 0) -> dict[str, VerifyReport]:
    """Export both teams' actors into ``out`` and verify each file; returns the reports."""
    out = Path(out)
    layout = world.layout
    real = twin_batches(world, seed=seed) if twin_obs else {}
    reports = {}
    for team in TEAMS:
        actor = actors[team].eval()
        check_actor_fits(actor, layout, team)
        path = export_actor(actor, layout, team, out / TEAM_FILES[team], metadata)
        memory = int(getattr(actor, "memory_size", 0) or 0)
        batches = [random_batch(layout, 64, memory, seed=seed + 1), random_batch(layout, 1, memory,
                                                                               seed=seed + 2)]
        if team in real:
            batches.append(real[team])
        try:
            reports[team] = verify_export(path, actor, layout, team, batches)
        except ExportError:
            path.unlink(missing_ok=True)  # never leave an unverified file where Unity looks
            raise
    return reports


def export_run(target: str | Path, checkpoint: int | None, out: str | Path,
               twin_obs: bool = True) -> dict[str, VerifyReport]:
    """Load a run (or checkpoint file) and write verified Hider.onnx / Seeker.onnx into ``out``."""
    from .checkpoint import load_policy

    loaded = load_policy(target, checkpoint=checkpoint, device="cpu")
    meta = {META_PREFIX + "run_dir": str(loaded.run_dir),
            META_PREFIX + "update": str(loaded.update)}
    return export_and_verify(loaded.actors, loaded.world, out, meta, twin_obs=twin_obs)


def main(args: argparse.Namespace) -> int:
    target = Path(args.run_dir)
    if not target.exists():
        print(f"hideseek export: {target}: no such run directory or checkpoint file",
              file=sys.stderr)
        return 2
    try:
        reports = export_run(target, args.checkpoint, args.out)
    except ExportError as exc:
        print(f"hideseek export: verification FAILED: {exc}", file=sys.stderr)
        return 1
    for report in reports.values():
        print(report)
    return 0
