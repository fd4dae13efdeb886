"""Encode ``AgentInfoProto`` lists straight to protobuf bytes.

Building one message object per agent and observation costs ~20 field assignments per agent per
step in Python; every agent of a behaviour has the same observation shapes, so each info is a
fixed sequence of precomputed field headers and raw little-endian float/bool bytes. The result
is parsed once into the real ``ListAgentInfoProto`` (one C call), so the message that goes out is
still built and checked by protobuf.

Wire format (protobuf encoding spec): tag = (field << 3) | wire type; repeated scalars are packed
(proto3 default) as one length-delimited field.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# AgentInfoProto field tags (agent_info.proto).
_REWARD = b"\x3d"          # 7, fixed32
_DONE = b"\x40"            # 8, varint
_MAX_STEP = b"\x48"        # 9, varint
_ID = b"\x50"              # 10, varint
_ACTION_MASK = b"\x5a"     # 11, packed bools
_OBSERVATION = b"\x6a"     # 13, message
_GROUP_ID = b"\x70"        # 14, varint
_GROUP_REWARD = b"\x7d"    # 15, fixed32
# ObservationProto fields (observation.proto).
_OBS_SHAPE = b"\x0a"       # 1, packed int32
_OBS_FLOAT_DATA = b"\x22"  # 4, FloatData message
_OBS_DIMS = b"\x32"        # 6, packed int32
_OBS_NAME = b"\x42"        # 8, string
_FLOAT_DATA_DATA = b"\x0a"  # FloatData.data = 1, packed float
_LIST_VALUE = b"\x0a"      # ListAgentInfoProto.value = 1

# DimensionProperty flags (ML-Agents): NONE=1, VARIABLE_SIZE=4.
DIM_NONE, DIM_VARIABLE_SIZE = 1, 4


def varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # int32 negatives are sign-extended to 10 bytes
    out = bytearray()
    while True:
        bits = n & 0x7F
        n >>= 7
        if n:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


class ObservationHeader:
    """The constant part of one ObservationProto (shape, dims, name) and its data framing."""

    def __init__(self, shape: Sequence[int], dims: Sequence[int], name: str,
                 data_count: int | None = None):
        self.shape = tuple(int(s) for s in shape)
        self.dims = tuple(dims)
        self.name = name
        # ``data_count`` != prod(shape) only to forge malformed messages (fault injection).
        self.count = int(np.prod(self.shape)) if data_count is None else int(data_count)
        static = _delimited(_OBS_SHAPE, b"".join(varint(s) for s in self.shape))
        static += _delimited(_OBS_DIMS, b"".join(varint(d) for d in dims))
        static += _delimited(_OBS_NAME, name.encode("ascii"))
        float_bytes = 4 * self.count
        data_field = _FLOAT_DATA_DATA + varint(float_bytes)
        float_data_len = len(data_field) + float_bytes
        self.prefix = static + _OBS_FLOAT_DATA + varint(float_data_len) + data_field
        body_len = len(self.prefix) + float_bytes
        self.outer = _OBSERVATION + varint(body_len)


def encode_agent_infos(ids: Sequence[int], group_ids: Sequence[int], rewards: np.ndarray,
                       group_rewards: np.ndarray, done: bool, max_step_reached: bool,
                       forbidden: np.ndarray, observations: Sequence[np.ndarray],
                       headers: Sequence[ObservationHeader]) -> bytes:
    """A serialized ``ListAgentInfoProto`` body for len(ids) agents.

    ``forbidden`` [n, M] bool uses the wire convention (True = action NOT allowed);
    ``observations[k]`` is float32 [n, *headers[k].shape].
    """
    n = len(ids)
    rewards = np.ascontiguousarray(rewards, dtype="<f4")
    group_rewards = np.ascontiguousarray(group_rewards, dtype="<f4")
    mask_bytes = np.ascontiguousarray(forbidden, dtype=np.uint8)
    mask_prefix = _ACTION_MASK + varint(mask_bytes.shape[1])
    flags = _DONE + (b"\x01" if done else b"\x00") + _MAX_STEP + (
        b"\x01" if max_step_reached else b"\x00")
    obs = [np.ascontiguousarray(o, dtype="<f4").reshape(n, -1) for o in observations]
    for o, h in zip(obs, headers):
        if o.shape[1] != h.count:
            raise ValueError(f"observation {h.shape} expects {h.count} floats per agent, "
                             f"got {o.shape[1]}")
    parts: list[bytes] = []
    for i in range(n):
        body = [_REWARD, rewards[i].tobytes(), flags, _ID, varint(int(ids[i])),
                mask_prefix, mask_bytes[i].tobytes()]
        for o, h in zip(obs, headers):
            body += [h.outer, h.prefix, o[i].tobytes()]
        body += [_GROUP_ID, varint(int(group_ids[i])), _GROUP_REWARD, group_rewards[i].tobytes()]
        info = b"".join(body)
        parts += [_LIST_VALUE, varint(len(info)), info]
    return b"".join(parts)
