"""Run an exported actor with onnxruntime alone (no torch), and check it obeys the ML-Agents
contract of ``shared/ONNX_CONTRACT.md``.

This is what ``hideseek play`` uses, and what ``hideseek export`` uses to inspect the files it
writes, so a file that this module accepts is a file Unity's ``SentisModelParamLoader`` accepts
(same tensor names, dtypes, constants). Importing it must never pull in torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime as ort

from .config_io import ConfigError
from .contract import ACTION_BRANCHES, TEAMS

# Tensor names of the ML-Agents model API 3 (com.unity.ml-agents Runtime/Inference/TensorNames.cs).
OBS_INPUTS: tuple[str, ...] = ("obs_0", "obs_1", "obs_2", "obs_3")
MASK_INPUT = "action_masks"
MEMORY_INPUT = "recurrent_in"
VERSION_OUTPUT = "version_number"
MEMORY_SIZE_OUTPUT = "memory_size"
SAMPLED_OUTPUT = "discrete_actions"
DETERMINISTIC_OUTPUT = "deterministic_discrete_actions"
BRANCHES_OUTPUT = "discrete_action_output_shape"
MEMORY_OUTPUT = "recurrent_out"
MODEL_API_VERSION = 3

# Keys this project writes into the ONNX metadata_props of every exported file.
META_PREFIX = "hideseek."
META_TEAM = META_PREFIX + "team"
META_OBS_SHAPES = META_PREFIX + "obs_shapes"
META_WORLD = META_PREFIX + "world"
# The contract layout (``ObsLayout.describe()``, critic state included) the policy was trained
# under: a shipped model whose layout differs from the current contract is stale.
META_LAYOUT = META_PREFIX + "layout"


class PolicyContractError(ConfigError):
    """An ONNX file does not satisfy the ML-Agents contract or does not fit the arena.
    The message names the file, the tensor or key, what was found and what was expected; being a
    ConfigError, the command line reports it as a bad input (exit status 2), not a crash."""

    def __init__(self, path: str | Path, what: str, found: object, expected: str):
        super().__init__(str(path), what, found, expected)


def contract_input_names(memory_size: int) -> tuple[str, ...]:
    return OBS_INPUTS + (MASK_INPUT,) + ((MEMORY_INPUT,) if memory_size > 0 else ())


def contract_output_names(memory_size: int) -> tuple[str, ...]:
    """Output names in the order ML-Agents' own exporter writes them."""
    names = (VERSION_OUTPUT, MEMORY_SIZE_OUTPUT, SAMPLED_OUTPUT, BRANCHES_OUTPUT,
             DETERMINISTIC_OUTPUT)
    return names + ((MEMORY_OUTPUT,) if memory_size > 0 else ())


def _static_dims(shape: Sequence[object]) -> tuple[int | None, ...]:
    """onnxruntime reports a symbolic dimension as a string (or None); keep ints only."""
    return tuple(d if isinstance(d, int) else None for d in shape)


@dataclass(frozen=True)
class PolicyInfo:
    """What a policy file declares about itself."""

    path: str
    team: str | None                       # from metadata; None for files exported elsewhere
    obs_shapes: tuple[tuple[int, ...], ...]  # per-agent shapes of obs_0..obs_3 (graph inputs)
    memory_size: int
    metadata: dict[str, str]


class OnnxPolicy:
    """One team's exported actor, checked against the contract when it is opened.

    ``act`` takes a batch of agents (each row decides from its own observation and mask only:
    the graph has no operation across the batch dimension) and returns int64 actions [B, 5].
    """

    def __init__(self, path: str | Path, threads: int = 1):
        self.path = Path(path)
        if not self.path.is_file():
            raise PolicyContractError(self.path, "<file>", str(self.path), "an existing .onnx file")
        opts = ort.SessionOptions()
        # One agent-decision is microseconds of work: thread pools only add latency.
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise PolicyContractError(self.path, "<file>", str(exc).splitlines()[0],
                                      "an ONNX model onnxruntime can load") from None
        self.info = self._check_contract()

    # ----------------------------------------------------------------- contract
    def _check_contract(self) -> PolicyInfo:
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        has_memory = MEMORY_INPUT in inputs
        expected_in = contract_input_names(1 if has_memory else 0)
        if sorted(inputs) != sorted(expected_in):
            raise PolicyContractError(self.path, "inputs", sorted(inputs),
                                      "exactly " + ", ".join(expected_in) + " (ML-Agents contract)")
        expected_out = contract_output_names(1 if has_memory else 0)
        if sorted(outputs) != sorted(expected_out):
            raise PolicyContractError(self.path, "outputs", sorted(outputs),
                                      "exactly " + ", ".join(expected_out) + " (ML-Agents contract)")
        for name in expected_in:
            if inputs[name].type != "tensor(float)":
                raise PolicyContractError(self.path, f"input {name} dtype", inputs[name].type,
                                          "tensor(float)")
        out_types = {VERSION_OUTPUT: "tensor(float)", MEMORY_SIZE_OUTPUT: "tensor(float)",
                     BRANCHES_OUTPUT: "tensor(float)", SAMPLED_OUTPUT: "tensor(int64)",
                     DETERMINISTIC_OUTPUT: "tensor(int64)", MEMORY_OUTPUT: "tensor(float)"}
        for name in expected_out:
            if outputs[name].type != out_types[name]:
                raise PolicyContractError(self.path, f"output {name} dtype", outputs[name].type,
                                          out_types[name])
        obs_shapes = []
        for name in OBS_INPUTS + (MASK_INPUT,):
            dims = _static_dims(inputs[name].shape)
            if len(dims) < 2 or dims[0] is not None or any(d is None for d in dims[1:]):
                raise PolicyContractError(self.path, f"input {name} shape", list(inputs[name].shape),
                                          "[batch (dynamic), fixed sizes...]")
            if name != MASK_INPUT:
                obs_shapes.append(tuple(int(d) for d in dims[1:]))
        mask_dims = _static_dims(inputs[MASK_INPUT].shape)
        if mask_dims[1:] != (sum(ACTION_BRANCHES),):
            raise PolicyContractError(self.path, "input action_masks shape", list(mask_dims),
                                      f"[batch, {sum(ACTION_BRANCHES)}]")
        if len(obs_shapes[0]) != 1 or any(len(s) != 2 for s in obs_shapes[1:]):
            raise PolicyContractError(self.path, "observation ranks", obs_shapes,
                                      "obs_0 a vector, obs_1..obs_3 [entities, columns] buffers")

        # Constants: run once on zeros, as Unity's SentisModelInfo does when it loads a model.
        memory_size = 0
        if has_memory:
            mem_dims = _static_dims(inputs[MEMORY_INPUT].shape)
            if len(mem_dims) != 3 or mem_dims[1] != 1 or mem_dims[2] is None:
                raise PolicyContractError(self.path, "input recurrent_in shape", list(mem_dims),
                                          "[batch, 1, memory_size]")
            memory_size = int(mem_dims[2])
        feeds = self._zero_feeds(obs_shapes, memory_size, batch=1)
        consts = dict(zip([VERSION_OUTPUT, MEMORY_SIZE_OUTPUT, BRANCHES_OUTPUT],
                          self.session.run([VERSION_OUTPUT, MEMORY_SIZE_OUTPUT, BRANCHES_OUTPUT],
                                           feeds)))
        if consts[VERSION_OUTPUT].reshape(-1).tolist() != [float(MODEL_API_VERSION)]:
            raise PolicyContractError(self.path, VERSION_OUTPUT, consts[VERSION_OUTPUT].tolist(),
                                      f"[{MODEL_API_VERSION}.0] (ML-Agents model API 3)")
        if consts[MEMORY_SIZE_OUTPUT].reshape(-1).tolist() != [float(memory_size)]:
            raise PolicyContractError(self.path, MEMORY_SIZE_OUTPUT,
                                      consts[MEMORY_SIZE_OUTPUT].tolist(),
                                      f"[{float(memory_size)}] (the size of recurrent_in)")
        want = [[float(b) for b in ACTION_BRANCHES]]
        if consts[BRANCHES_OUTPUT].tolist() != want:
            raise PolicyContractError(self.path, BRANCHES_OUTPUT, consts[BRANCHES_OUTPUT].tolist(),
                                      f"{want} (WORLD.md action branches)")

        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        team = meta.get(META_TEAM)
        if team is not None and team not in TEAMS:
            raise PolicyContractError(self.path, f"metadata {META_TEAM}", team,
                                      "one of " + ", ".join(TEAMS))
        if META_OBS_SHAPES in meta:
            declared = tuple(tuple(s) for s in json.loads(meta[META_OBS_SHAPES]))
            if declared != tuple(obs_shapes):
                raise PolicyContractError(self.path, f"metadata {META_OBS_SHAPES}", declared,
                                          f"the graph's input shapes {tuple(obs_shapes)}")
        return PolicyInfo(str(self.path), team, tuple(obs_shapes), memory_size, meta)

    @staticmethod
    def _zero_feeds(obs_shapes: Sequence[tuple[int, ...]], memory_size: int,
                    batch: int) -> dict[str, np.ndarray]:
        feeds = {name: np.zeros((batch, *shape), np.float32)
                 for name, shape in zip(OBS_INPUTS, obs_shapes)}
        feeds[MASK_INPUT] = np.ones((batch, sum(ACTION_BRANCHES)), np.float32)
        if memory_size > 0:
            feeds[MEMORY_INPUT] = np.zeros((batch, 1, memory_size), np.float32)
        return feeds

    def check_fits(self, obs_shapes: Sequence[Sequence[int]], team: str, role: str) -> None:
        """Raise unless this policy can act as ``team`` in an arena with ``obs_shapes``.

        ``role`` names where the file came from (e.g. ``--hider``) for the error message.
        """
        want = tuple(tuple(int(d) for d in s) for s in obs_shapes)
        if self.info.team is not None and self.info.team != team:
            raise PolicyContractError(self.path, f"metadata {META_TEAM}", self.info.team,
                                      f"'{team}' (the file was given as {role})")
        for name, got, exp in zip(OBS_INPUTS, self.info.obs_shapes, want):
            if got != exp:
                raise PolicyContractError(
                    self.path, f"input {name} shape", list(got),
                    f"{list(exp)} as this arena produces (was the policy trained on another "
                    "world config? compare lidar_rays and the max entity counts)")

    # ------------------------------------------------------------------ running
    @property
    def memory_size(self) -> int:
        return self.info.memory_size

    def initial_memory(self, batch: int) -> np.ndarray | None:
        if self.memory_size == 0:
            return None
        return np.zeros((batch, 1, self.memory_size), np.float32)

    def run(self, obs: Sequence[np.ndarray], masks: np.ndarray, memory: np.ndarray | None = None,
            outputs: Sequence[str] = (SAMPLED_OUTPUT,)) -> dict[str, np.ndarray]:
        """Run the graph on a batch: ``obs`` = obs_0..obs_3 arrays [B, ...], ``masks`` [B, 37]
        with 1 = allowed. Returns the requested outputs by name (plus recurrent_out with memory)."""
        feeds = {name: np.ascontiguousarray(o, dtype=np.float32) for name, o in zip(OBS_INPUTS, obs)}
        feeds[MASK_INPUT] = np.ascontiguousarray(masks, dtype=np.float32)
        names = list(outputs)
        if self.memory_size > 0:
            if memory is None:
                memory = self.initial_memory(len(masks))
            feeds[MEMORY_INPUT] = np.ascontiguousarray(memory, dtype=np.float32)
            if MEMORY_OUTPUT not in names:
                names.append(MEMORY_OUTPUT)
        return dict(zip(names, self.session.run(names, feeds)))

    def act(self, obs: Sequence[np.ndarray], masks: np.ndarray, memory: np.ndarray | None = None,
            deterministic: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Actions int64 [B, 5] (sampled in the graph, or its arg-max) and the next memory."""
        key = DETERMINISTIC_OUTPUT if deterministic else SAMPLED_OUTPUT
        out = self.run(obs, masks, memory, outputs=(key,))
        return out[key], out.get(MEMORY_OUTPUT)


def seed_onnxruntime(seed: int) -> None:
    """Seed onnxruntime's random operators (the in-graph Multinomial) for reproducible play."""
    ort.set_seed(int(seed))
