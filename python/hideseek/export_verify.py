"""Verification of exported ONNX policies, and the inputs it feeds them.

``verify_export`` checks a written file against the PyTorch actor it came from: ``onnx.checker``,
opset and operators within what Sentis imports, the ML-Agents contract as Unity reads it, and
onnxruntime against PyTorch on random and on real twin observations (deterministic actions
identical, per-branch probabilities within 1e-5, sampled actions inside the mask). Any failure
raises :class:`ExportError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import onnx
import torch
from torch import Tensor, nn

from .config_io import ConfigError
from .contract import ACTION_BRANCHES, TEAMS, ObsLayout, WorldConfig
from .models import BranchIndex, branch_probs, random_actions, select_actions
from .onnx_policy import (DETERMINISTIC_OUTPUT, MASK_INPUT, MEMORY_INPUT, MEMORY_OUTPUT,
                          OBS_INPUTS, SAMPLED_OUTPUT, OnnxPolicy, contract_output_names)

# ML-Agents' exporter writes opset 9; Sentis documents 7-15. 15 keeps Softmax on one axis
# (opset >= 13 semantics) and is the newest opset Sentis accepts.
OPSET = 15
MIN_OPSET, MAX_OPSET = 7, 15
PROB_TOLERANCE = 1e-5
# recurrent_out is a hidden state, not a probability: its float32 rounding grows with the size of
# the pre-activations (measured 1e-5 between PyTorch float32 and float64 for a GRU with large
# weights), so it is checked relative to its magnitude with a looser bound.
MEMORY_TOLERANCE = 1e-4

# ONNX operators that Sentis / Inference Engine imports (the "Supported ONNX operators" table
# of com.unity.sentis 2.1 / com.unity.ai.inference 2.x). A graph using anything else is refused
# at export time rather than in the Unity editor. Multinomial is a Sentis layer
# (Unity.Sentis.Layers.Multinomial) and is what ML-Agents' own exports sample with.
SENTIS_OPS: frozenset[str] = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization
Bernoulli Cast CastLike Ceil Celu Clip Compress Concat Constant ConstantOfShape Conv ConvTranspose
Cos Cosh CumSum DepthToSpace Div Dropout Einsum Elu Equal Erf Exp Expand Flatten Floor Gather
GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalMaxPool Greater GreaterOrEqual
HardSigmoid HardSwish Hardmax Identity InstanceNormalization IsInf IsNaN LRN LSTM
LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax MatMul Max MaxPool Mean Min Mod Mul
Multinomial Neg NonMaxSuppression NonZero Not OneHot Or PRelu Pad Pow RandomNormal
RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum
ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape
Resize RoiAlign Round ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice
Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile
TopK Transpose Trilu Unsqueeze Upsample Where Xor
""".split())



class ExportError(RuntimeError):
    """An exported file failed its own verification; the message says which check and by how much."""


# ------------------------------------------------------------------------------ inputs
@dataclass
class Batch:
    """One batch of actor inputs as numpy float32 (the onnxruntime feed), named by source."""

    source: str
    obs: list[np.ndarray]
    masks: np.ndarray
    memory: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.masks)

    def torch_args(self) -> tuple[Tensor, ...]:
        args = tuple(torch.from_numpy(o) for o in self.obs) + (torch.from_numpy(self.masks),)
        return args + ((torch.from_numpy(self.memory),) if self.memory is not None else ())

    def feeds(self) -> dict[str, np.ndarray]:
        out = dict(zip(OBS_INPUTS, self.obs))
        out[MASK_INPUT] = self.masks
        if self.memory is not None:
            out[MEMORY_INPUT] = self.memory
        return out


def random_masks(batch: int, rng: np.random.Generator) -> np.ndarray:
    """Random 0/1 masks [B, 37] with at least one allowed action per branch (as the env gives)."""
    parts = []
    for size in ACTION_BRANCHES:
        m = (rng.random((batch, size)) < 0.6).astype(np.float32)
        m[np.arange(batch), rng.integers(0, size, batch)] = 1.0
        parts.append(m)
    return np.concatenate(parts, axis=1)


def random_batch(layout: ObsLayout, batch: int, memory_size: int, seed: int = 0) -> Batch:
    """Observations shaped like the world's but random, with the BufferSensor convention kept:
    invisible entity rows are all zero and visible rows have present = 1 in column 0."""
    rng = np.random.default_rng(seed)
    obs = []
    for shape in layout.obs_shapes:
        o = rng.normal(0.0, 1.0, (batch, *shape)).astype(np.float32)
        if len(shape) == 2:
            visible = rng.random((batch, shape[0], 1)) < 0.6
            o[..., 0] = 1.0
            o = np.where(visible, o, 0.0).astype(np.float32)
        obs.append(o)
    memory = (rng.normal(0.0, 1.0, (batch, 1, memory_size)).astype(np.float32)
              if memory_size > 0 else None)
    return Batch(f"random (seed {seed})", obs, random_masks(batch, rng), memory)


def twin_batches(world: WorldConfig, arenas: int = 4, steps: int | None = None,
                 seed: int = 0, every: int = 4) -> dict[str, Batch]:
    """Real observations per team: the twin driven by uniformly random allowed actions, keeping
    every ``every``-th step of one full episode (preparation and hiding phases), present agents
    only. Memory is filled in by the caller for recurrent policies."""
    from .sim import TwinSim

    sim = TwinSim(world, num_arenas=arenas, device="cpu", seed=seed)
    layout = sim.layout
    gen = torch.Generator().manual_seed(seed)
    branch_index = BranchIndex(layout.action_branches)
    obs = sim.reset(seed=seed)
    kept: dict[str, list] = {team: [] for team in TEAMS}
    steps = world.horizon if steps is None else steps
    for t in range(steps):
        if t % every == 0:
            for team in TEAMS:
                slots = layout.team_slice(team)
                present = obs.present[:, slots].reshape(-1)
                rows = [o[:, slots].reshape(-1, *o.shape[2:])[present] for o in obs.obs]
                mask = obs.action_mask[:, slots].reshape(-1, obs.action_mask.shape[-1])[present]
                kept[team].append((rows, mask))
        obs = sim.step(random_actions(obs.action_mask, branch_index, gen)).obs
    out = {}
    for team, chunks in kept.items():
        obs_np = [torch.cat([c[0][i] for c in chunks]).numpy().astype(np.float32)
                  for i in range(len(OBS_INPUTS))]
        masks = torch.cat([c[1] for c in chunks]).numpy().astype(np.float32)
        out[team] = Batch(f"twin {world.scenario} (seed {seed}, {len(masks)} decisions)",
                          obs_np, masks)
    return out


def _probability_tensors(model: onnx.ModelProto) -> list[str]:
    """Names of the per-branch probability tensors: the inputs of the ArgMax nodes that feed
    ``deterministic_discrete_actions``, in branch order (walking back through Concat/Cast)."""
    producer = {out: node for node in model.graph.node for out in node.output}
    found: list[str] = []

    def walk(name: str) -> None:
        node = producer.get(name)
        if node is None:
            raise ExportError(f"deterministic_discrete_actions does not come from ArgMax nodes "
                              f"(reached graph input or initializer {name!r})")
        if node.op_type == "ArgMax":
            found.append(node.input[0])
        elif node.op_type in ("Concat", "Cast", "Identity", "Unsqueeze", "Squeeze", "Reshape"):
            for inp in (node.input if node.op_type == "Concat" else node.input[:1]):
                walk(inp)
        else:
            raise ExportError(f"deterministic_discrete_actions is computed by {node.op_type} "
                              f"({node.name}); expected Concat of ArgMax over probabilities")

    walk(DETERMINISTIC_OUTPUT)
    if len(found) != len(ACTION_BRANCHES):
        raise ExportError(f"found {len(found)} ArgMax branches, expected {len(ACTION_BRANCHES)}")
    return found


def _verification_copy(model: onnx.ModelProto) -> tuple[bytes, list[str]]:
    """The shipped graph, unchanged, with its probability tensors also exposed as outputs.
    Only this in-memory copy has the extra outputs; the file on disk keeps the contract."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    names = _probability_tensors(copy)
    for i, name in enumerate(names):
        copy.graph.output.append(onnx.helper.make_tensor_value_info(
            name, onnx.TensorProto.FLOAT, None))
    return copy.SerializeToString(), names


def check_operators(model: onnx.ModelProto, path: str | Path) -> None:
    """Opset within Sentis' range and every node an operator Sentis imports."""
    opsets = {o.domain: o.version for o in model.opset_import}
    version = opsets.get("", opsets.get("ai.onnx"))
    if version is None or not MIN_OPSET <= version <= MAX_OPSET:
        raise ExportError(f"{path}: opset {version}: Sentis supports {MIN_OPSET}-{MAX_OPSET}")
    bad = sorted({f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in model.graph.node
                  if n.domain not in ("", "ai.onnx") or n.op_type not in SENTIS_OPS})
    if bad:
        raise ExportError(f"{path}: operators Sentis does not import: {', '.join(bad)}")


@dataclass
class VerifyReport:
    path: str
    team: str
    checks: list[str] = field(default_factory=list)
    max_prob_diff: float = 0.0
    max_memory_diff: float = 0.0
    decisions: int = 0

    def __str__(self) -> str:
        return (f"{self.path}: OK ({self.decisions} decisions compared; max |p_onnx - p_torch| = "
                f"{self.max_prob_diff:.2e}" +
                (f", max memory diff {self.max_memory_diff:.2e}" if self.max_memory_diff else "")
                + "; " + "; ".join(self.checks) + ")")


def verify_export(path: str | Path, actor: nn.Module, layout: ObsLayout, team: str,
                  batches: Sequence[Batch], tolerance: float | None = None) -> VerifyReport:
    """Check a written file against ``actor``; raise :class:`ExportError` on any difference.
    ``tolerance`` bounds the probability difference (default :data:`PROB_TOLERANCE`)."""
    import onnxruntime as ort

    tolerance = PROB_TOLERANCE if tolerance is None else tolerance

    path = Path(path)
    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker: {exc}") from None
    report = VerifyReport(str(path), team, checks=["onnx.checker"])
    check_operators(model, path)
    report.checks.append(f"opset {OPSET}, Sentis operators only")
    try:
        policy = OnnxPolicy(path)
        policy.check_fits(layout.obs_shapes, team, role=team)
    except ConfigError as exc:
        raise ExportError(f"contract check failed: {exc}") from None
    outs = [o.name for o in model.graph.output]
    if outs != list(contract_output_names(policy.memory_size)):
        raise ExportError(f"{path}: outputs {outs}: expected exactly "
                          f"{list(contract_output_names(policy.memory_size))}")
    report.checks.append("ML-Agents contract")

    memory_size = int(getattr(actor, "memory_size", 0) or 0)
    data, prob_names = _verification_copy(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    fetch = [SAMPLED_OUTPUT, DETERMINISTIC_OUTPUT] + prob_names
    if memory_size > 0:
        fetch.append(MEMORY_OUTPUT)
    for batch in batches:
        if memory_size > 0 and batch.memory is None:
            rng = np.random.default_rng(len(batch))
            batch = Batch(batch.source, batch.obs, batch.masks,
                          rng.normal(0, 1, (len(batch), 1, memory_size)).astype(np.float32))
        got = dict(zip(fetch, session.run(fetch, batch.feeds())))
        with torch.no_grad():
            args = batch.torch_args()
            logits, memory = actor(*args[:4], memory=args[5] if memory_size > 0 else None)
            probs = branch_probs(logits, args[4])
        det_torch = select_actions(probs, True).numpy()
        where = f"{path} on {batch.source}"
        for b, (name, p) in enumerate(zip(prob_names, probs)):
            diff = float(np.max(np.abs(got[name] - p.numpy())))
            report.max_prob_diff = max(report.max_prob_diff, diff)
            if not diff <= tolerance:
                raise ExportError(f"{where}: branch {b} probabilities differ from PyTorch by "
                                  f"{diff:.3e} (> {tolerance:.0e})")
        mismatch = np.argwhere(got[DETERMINISTIC_OUTPUT] != det_torch)
        if len(mismatch):
            r, b = mismatch[0]
            raise ExportError(f"{where}: deterministic action differs from PyTorch in "
                              f"{len(mismatch)} places, first row {r} branch {b}: onnx "
                              f"{got[DETERMINISTIC_OUTPUT][r, b]} vs torch {det_torch[r, b]}")
        sampled = got[SAMPLED_OUTPUT]
        offsets = np.cumsum((0,) + ACTION_BRANCHES[:-1])
        if sampled.shape != (len(batch), len(ACTION_BRANCHES)) or sampled.dtype != np.int64:
            raise ExportError(f"{where}: discrete_actions {sampled.dtype}{list(sampled.shape)}: "
                              f"expected int64[{len(batch)}, {len(ACTION_BRANCHES)}]")
        allowed = np.take_along_axis(batch.masks, sampled + offsets, axis=1)
        if not np.all(allowed == 1.0):
            raise ExportError(f"{where}: discrete_actions picked a masked action "
                              f"({int(np.sum(allowed != 1.0))} times)")
        if memory_size > 0:
            # An LSTM cell state is unbounded, so memory is compared relative to its size.
            ref = memory.numpy()
            diff = float(np.max(np.abs(got[MEMORY_OUTPUT] - ref) / (1.0 + np.abs(ref))))
            report.max_memory_diff = max(report.max_memory_diff, diff)
            if not diff <= MEMORY_TOLERANCE:
                raise ExportError(f"{where}: recurrent_out differs from PyTorch by {diff:.3e} "
                                  f"(relative, > {MEMORY_TOLERANCE:.0e})")
        report.decisions += len(batch)
    report.checks.append("onnxruntime == PyTorch on " + ", ".join(b.source for b in batches) +
                         " "
                         f"(deterministic actions identical, probabilities within {tolerance:.0e}, "
                         "samples inside the mask)")
    return report


def check_actor_fits(actor: nn.Module, layout: ObsLayout, team: str) -> None:
    """A clear error when the checkpoint's actor was built for another world layout."""
    batch = random_batch(layout, 2, int(getattr(actor, "memory_size", 0) or 0))
    try:
        with torch.no_grad():
            logits, _ = actor(*batch.torch_args()[:4], memory=(
                torch.from_numpy(batch.memory) if batch.memory is not None else None))
    except RuntimeError as exc:
        raise ExportError(f"the {team} actor does not accept this world's observations "
                          f"{[list(s) for s in layout.obs_shapes]} (was the checkpoint trained "
                          f"with another world config?): {str(exc).splitlines()[0]}") from None
    if tuple(logits.shape) != (2, sum(ACTION_BRANCHES)):
        raise ExportError(f"the {team} actor returns logits {list(logits.shape)}: expected "
                          f"[batch, {sum(ACTION_BRANCHES)}]")
