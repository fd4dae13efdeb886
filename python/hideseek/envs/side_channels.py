"""Side channels of the ML-Agents protocol as this project uses them (../shared/PROTOCOL.md §7).

Two sides use this module:

* the trainer side (``UnityParallelEnv``, ``UnityVecSim``): :class:`GlobalStateChannel` receives
  the centralized critic state, :func:`world_to_parameters` turns world-config values into
  EnvironmentParameters floats, :func:`episode_stats` reads ``HideSeek/<name>`` Stats entries;
* the Unity side (the twin player): :func:`split_frames` / :func:`pack_frames` for the raw byte
  stream, decoders for EngineConfiguration and EnvironmentParameters messages,
  :func:`parameters_to_world` (validated with the contract's ConfigError) and encoders for the
  Stats and global-state messages.

Agreements with the C# project: the global state channel id and payload
(``int32 arena, int32 step_in_episode, float list``, sent only while the trainer has set
``GLOBAL_STATE_REQUEST_KEY`` > 0.5), Stats keys ``HideSeek/<name>`` with AVERAGE
aggregation, EnvironmentParameters keys = WorldConfig field names (ranges as ``<name>_min`` /
``<name>_max``) plus ``num_arenas``.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import typing
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..config_io import ConfigError, build, to_dict
from ..contract import EPISODE_STATS, WorldConfig
from . import mlagents_compat

mlagents_compat.install()

from mlagents_envs.side_channel import IncomingMessage, OutgoingMessage, SideChannel  # noqa: E402

ENGINE_CONFIGURATION_ID = uuid.UUID("e951342c-4f7e-11ea-b238-784f4387d1f7")
ENVIRONMENT_PARAMETERS_ID = uuid.UUID("534c891e-810f-11ea-a9d0-822485860400")
STATS_ID = uuid.UUID("a1d8f7b7-cec8-50f9-b78b-d3e165a78520")
TRAINING_ANALYTICS_ID = uuid.UUID("b664a4a9-d86f-5a5f-95cb-e8353a7e8356")
GLOBAL_STATE_ID = uuid.UUID("3f5d2a64-1c2e-4e44-9a57-7b0d6c1e9a21")

STATS_PREFIX = "HideSeek/"
STATS_AVERAGE = 0  # StatsAggregationMethod.AVERAGE
# EnvironmentParameters keys that are not WorldConfig fields.
NUM_ARENAS_KEY = "num_arenas"
# Twin extension: reseed at the next RESET (a Unity build ignores unknown keys). Floats carry
# integers exactly only below 2**24.
SEED_KEY = "seed"
MAX_FLOAT_SEED = 2 ** 24
# The trainer asks for the critic state with this parameter (> 0.5) before its first reset; a
# Unity side sends global-state messages only while it is set, so clients that do not listen
# (mlagents-learn) get none and log no "Unknown side channel data received".
GLOBAL_STATE_REQUEST_KEY = "hideseek_global_state"

_ENV_PARAM_FLOAT, _ENV_PARAM_SAMPLER = 0, 1


# --------------------------------------------------------------------------- framing

def split_frames(data: bytes) -> list[tuple[uuid.UUID, bytes]]:
    """``[16-byte GUID (bytes_le)][int32 length][payload]...`` -> [(channel id, payload)]."""
    frames, offset, data = [], 0, bytes(data)
    while offset < len(data):
        if offset + 20 > len(data):
            raise ValueError(f"side-channel frame header truncated at byte {offset} of {len(data)}")
        channel = uuid.UUID(bytes_le=data[offset:offset + 16])
        (length,) = struct.unpack_from("<i", data, offset + 16)
        offset += 20
        if length < 0 or offset + length > len(data):
            raise ValueError(f"side-channel frame of {channel} claims {length} bytes, "
                             f"{len(data) - offset} left")
        frames.append((channel, data[offset:offset + length]))
        offset += length
    return frames


def pack_frames(frames: Sequence[tuple[uuid.UUID, bytes]]) -> bytes:
    out = bytearray()
    for channel, payload in frames:
        out += channel.bytes_le + struct.pack("<i", len(payload)) + payload
    return bytes(out)


# --------------------------------------------------------------------------- trainer side

@dataclass
class StateMessage:
    arena: int
    step_in_episode: int
    state: np.ndarray  # float32 [S]


class GlobalStateChannel(SideChannel):
    """Receives the per-arena critic state Unity sends with every decision step."""

    def __init__(self) -> None:
        super().__init__(GLOBAL_STATE_ID)
        self._messages: list[StateMessage] = []

    def on_message_received(self, msg: IncomingMessage) -> None:
        self._messages.append(decode_global_state(msg.get_raw_bytes()))

    def pop_messages(self) -> list[StateMessage]:
        """Messages received since the last call, in arrival order."""
        out, self._messages = self._messages, []
        return out


def episode_stats(stats: Mapping[str, Sequence[tuple[float, Any]]]) -> dict[str, list[float]]:
    """``HideSeek/<name>`` entries of a StatsSideChannel dump -> {name: [values in order]}."""
    out: dict[str, list[float]] = {}
    for key, values in stats.items():
        if key.startswith(STATS_PREFIX):
            out[key[len(STATS_PREFIX):]] = [float(v) for v, _ in values]
    return out


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(WorldConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(WorldConfig)}


def _is_range(typ: Any) -> bool:
    return typing.get_origin(typ) is tuple


def _scenario_choices() -> tuple[str, ...]:
    meta = {f.name: f.metadata for f in dataclasses.fields(WorldConfig)}["scenario"]
    return tuple(meta["choices"])


def world_to_parameters(values: Mapping[str, Any]) -> dict[str, float]:
    """WorldConfig values (all or some fields, plain or dataclass) -> EnvironmentParameters floats.

    Ranges become ``<name>_min`` / ``<name>_max``; ``scenario`` is sent as its index in the
    field's choices (the channel carries floats only).
    """
    if isinstance(values, WorldConfig):
        values = to_dict(values)
    types_ = _field_types()
    out: dict[str, float] = {}
    for key, value in values.items():
        if key in (NUM_ARENAS_KEY, SEED_KEY, GLOBAL_STATE_REQUEST_KEY):
            out[key] = float(value)
            continue
        if key not in types_:
            raise ConfigError("EnvironmentParameters", key, value,
                              f"a WorldConfig field, {NUM_ARENAS_KEY}, {SEED_KEY} or "
                              f"{GLOBAL_STATE_REQUEST_KEY}")
        if key == "scenario":
            out[key] = float(_scenario_choices().index(value))
        elif _is_range(types_[key]):
            lo, hi = (value, value) if not isinstance(value, (list, tuple)) else value
            out[f"{key}_min"], out[f"{key}_max"] = float(lo), float(hi)
        else:
            out[key] = float(value)
    return out


# --------------------------------------------------------------------------- Unity side

@dataclass
class EngineSettings:
    """EngineConfiguration values (the twin accepts and logs them; time runs as fast as it can)."""

    width: int = 84
    height: int = 84
    quality_level: int = 5
    time_scale: float = 1.0
    target_frame_rate: int = -1
    capture_frame_rate: int = 60


_ENGINE_FIELDS = {0: ("width", "height"), 1: ("quality_level",), 2: ("time_scale",),
                  3: ("target_frame_rate",), 4: ("capture_frame_rate",)}


def apply_engine_message(payload: bytes, settings: EngineSettings) -> EngineSettings:
    msg = IncomingMessage(payload)
    kind = msg.read_int32(-1)
    if kind not in _ENGINE_FIELDS:
        raise ValueError(f"EngineConfiguration message of unknown type {kind}")
    values = {}
    for name in _ENGINE_FIELDS[kind]:
        values[name] = msg.read_float32() if name == "time_scale" else msg.read_int32()
    if "time_scale" in values:
        values["time_scale"] = max(1.0, values["time_scale"])  # Unity clamps to >= 1
    return dataclasses.replace(settings, **values)


def decode_parameter(payload: bytes) -> tuple[str, float]:
    """One EnvironmentParameters message -> (key, value). Samplers are not supported: the twin
    has one world config for all arenas and cannot resample it per arena episode."""
    msg = IncomingMessage(payload)
    key = msg.read_string()
    kind = msg.read_int32(-1)
    if kind == _ENV_PARAM_FLOAT:
        return key, msg.read_float32()
    if kind == _ENV_PARAM_SAMPLER:
        raise ConfigError("EnvironmentParameters", key, "<sampler>",
                          "a float parameter (the twin does not support samplers)")
    raise ConfigError("EnvironmentParameters", key, f"<type {kind}>", "FLOAT (0) or SAMPLER (1)")


def _shortest_float(value: float) -> float:
    """The float32 that crossed the channel, as the shortest decimal that rounds to it: 0.7 sent
    arrives as 0.699999988, and ``floor(10 * 0.699999988)`` would differ from the in-process
    world's ``floor(10 * 0.7)``."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def _to_int(source: str, key: str, value: float) -> int:
    if not math.isfinite(value) or value != int(value):
        raise ConfigError(source, key, value, "an integer")
    return int(value)


def parameters_to_world(base: WorldConfig, params: Mapping[str, float],
                        source: str = "EnvironmentParameters") -> tuple[WorldConfig, dict[str, int]]:
    """Apply EnvironmentParameters floats to ``base``; returns the validated world and the
    non-world keys present (``num_arenas``, ``seed``) as ints. Raises ConfigError naming the key."""
    types_ = _field_types()
    data = to_dict(base)
    extra: dict[str, int] = {}
    for key, value in params.items():
        if key == NUM_ARENAS_KEY:
            extra[key] = _to_int(source, key, value)
            if extra[key] < 1:
                raise ConfigError(source, key, value, "at least 1")
            continue
        if key == SEED_KEY:
            extra[key] = _to_int(source, key, value)
            continue
        name, part = key, None
        for suffix in ("_min", "_max"):
            if key.endswith(suffix) and key[: -len(suffix)] in types_ and \
                    _is_range(types_[key[: -len(suffix)]]):
                name, part = key[: -len(suffix)], suffix
        if name not in types_:
            raise ConfigError(source, key, value,
                              "a WorldConfig field (ranges as <name>_min/_max), num_arenas or seed")
        typ = types_[name]
        if name == "scenario":
            choices = _scenario_choices()
            index = _to_int(source, key, value)
            if not 0 <= index < len(choices):
                raise ConfigError(source, key, value, f"an index into {list(choices)}")
            data[name] = choices[index]
        elif _is_range(typ):
            lo, hi = data[name]
            elem = typing.get_args(typ)[0]
            v = _to_int(source, key, value) if elem is int else _shortest_float(value)
            if part == "_min":
                lo = v
            elif part == "_max":
                hi = v
            else:
                lo = hi = v
            data[name] = [lo, hi]
        elif typ is int:
            data[name] = _to_int(source, key, value)
        else:
            data[name] = _shortest_float(value)
    return build(WorldConfig, data, source), extra


def encode_stat(name: str, value: float) -> bytes:
    msg = OutgoingMessage()
    msg.write_string(STATS_PREFIX + name)
    msg.write_float32(float(value))
    msg.write_int32(STATS_AVERAGE)
    return bytes(msg.buffer)


def encode_episode_stats(values: Mapping[str, float]) -> list[tuple[uuid.UUID, bytes]]:
    """Stats frames for one finished arena episode, in contract.EPISODE_STATS order."""
    return [(STATS_ID, encode_stat(name, values[name])) for name in EPISODE_STATS if name in values]


def encode_global_state(arena: int, step_in_episode: int, state: np.ndarray) -> bytes:
    """The agreed payload without OutgoingMessage's per-float Python loop (state is ~100 floats
    per arena per step)."""
    flat = np.ascontiguousarray(state, dtype="<f4").ravel()
    return struct.pack("<iii", int(arena), int(step_in_episode), flat.size) + flat.tobytes()


def decode_global_state(payload: bytes) -> StateMessage:
    if len(payload) < 12:
        raise ValueError(f"global-state message of {len(payload)} bytes (at least 12 expected)")
    arena, step, count = struct.unpack_from("<iii", payload, 0)
    if count < 0 or len(payload) != 12 + 4 * count:
        raise ValueError(f"global-state message for arena {arena} claims {count} floats "
                         f"in {len(payload) - 12} bytes")
    state = np.frombuffer(payload, dtype="<f4", count=count, offset=12).astype(np.float32)
    return StateMessage(arena, step, state)
