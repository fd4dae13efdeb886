"""Counter-based random numbers for layouts: value = hash(arena seed, episode, stream, index).

A per-arena counter hash (instead of one torch.Generator for the batch) is what makes arena k of
a batch reproduce a single arena with the same seed exactly, on any device and batch size.
"""

from __future__ import annotations

import torch
from torch import Tensor

_MASK32 = 0xFFFFFFFF


def _hash32(x: Tensor) -> Tensor:
    """lowbias32 integer hash on int64 tensors holding values in [0, 2^32).
    int64 products wrap; masking keeps exactly the low 32 bits, as in the uint32 original."""
    x = x & _MASK32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    x = x ^ (x >> 16)
    return x


class LayoutRng:
    """Uniform floats for a batch of arenas, keyed by (seed, episode). Each call to
    :meth:`uniform` uses a new stream id, so draws never overlap."""

    def __init__(self, seeds: Tensor, episodes: Tensor):
        # One 32-bit key per arena from its seed and episode index.
        key = _hash32(seeds.to(torch.int64))
        self._key = _hash32(key ^ _hash32(episodes.to(torch.int64) * 0x9E3779B1 + 0x632BE5AB))
        self._stream = 0

    def uniform(self, *shape: int) -> Tensor:
        """Floats in [0, 1) of shape [N, *shape]."""
        self._stream += 1
        count = 1
        for s in shape:
            count *= s
        idx = torch.arange(count, device=self._key.device, dtype=torch.int64)
        x = _hash32(self._key[:, None] ^ _hash32(idx[None, :] + self._stream * 0x01000193))
        x = _hash32(x + self._stream)
        u = (x >> 8).to(torch.float32) * (1.0 / (1 << 24))
        return u.view(-1, *shape)

    def integers(self, low: Tensor | int, high: Tensor | int, *shape: int) -> Tensor:
        """Integers in [low, high] (inclusive) per arena; low/high broadcast against [N, *shape]."""
        u = self.uniform(*shape) if shape else self.uniform(1)[:, 0]
        low_t = torch.as_tensor(low, device=u.device)
        high_t = torch.as_tensor(high, device=u.device)
        return (low_t + (u * (high_t - low_t + 1)).floor().to(torch.int64)).clamp(max=high_t)
