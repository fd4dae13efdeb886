"""The rollout buffer: T steps of N arenas for every agent slot, preallocated once.

Everything is time-major and keeps the arena dimension second, so fragments from several
samplers (e.g. Ray workers) concatenate along dim 1. ``obs`` and ``state`` hold T + 1 steps: the
last one is the observation the next rollout starts from, which bootstraps the value of
unfinished episodes. Episodes that were truncated at step t keep their last observation in the
``final_*`` arrays (one row per step in ``final_steps``), because ``obs[t + 1]`` already shows
the next episode.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from .contract import EPISODE_STATS, ObsLayout


@dataclass
class RolloutBuffer:
    obs: tuple[Tensor, Tensor, Tensor, Tensor]  # [T+1, N, A, ...] obs_0..obs_3
    state: Tensor            # [T+1, N, S] critic state
    mask: Tensor             # [T, N, A, 37] bool action mask
    memory: Tensor | None    # [T, N, A, 1, M] actor memory fed at step t (None: feed-forward)
    actions: Tensor          # [T, N, A, 5] int64
    logp: Tensor             # [T, N, A] log-prob under the behaviour policy
    reward: Tensor           # [T, N, A]
    present: Tensor          # [T, N, A] bool, slot in use
    truncated: Tensor        # [T, N] bool, the episode ended at step t
    valid: Tensor            # [T, N] bool, False: the step was not observed (never trained on)
    trainable: Tensor        # [N, A] bool, False where a frozen past policy played the slot
    final_obs: tuple[Tensor, Tensor, Tensor, Tensor]  # [K, N, A, ...] last obs of ended episodes
    final_state: Tensor      # [K, N, S]
    final_steps: list[int]   # host: the step of each final row (arenas: ``truncated[step]``)
    stat_sums: Tensor        # [len(EPISODE_STATS)] sums over finished, observed episodes
    episodes: Tensor         # () number of finished, observed episodes

    @staticmethod
    def allocate(layout: ObsLayout, steps: int, arenas: int, memory_size: int,
                 device: torch.device) -> "RolloutBuffer":
        t, n, a = steps, arenas, layout.max_agents

        def z(*shape, dtype=torch.float32):
            return torch.zeros(*shape, dtype=dtype, device=device)

        return RolloutBuffer(
            obs=tuple(z(t + 1, n, a, *s) for s in layout.obs_shapes),
            state=z(t + 1, n, layout.state_size),
            mask=z(t, n, a, layout.action_mask_size, dtype=torch.bool),
            memory=z(t, n, a, 1, memory_size) if memory_size else None,
            actions=z(t, n, a, len(layout.action_branches), dtype=torch.int64),
            logp=z(t, n, a), reward=z(t, n, a), present=z(t, n, a, dtype=torch.bool),
            truncated=z(t, n, dtype=torch.bool), valid=z(t, n, dtype=torch.bool),
            trainable=z(n, a, dtype=torch.bool),
            final_obs=tuple(z(0, n, a, *s) for s in layout.obs_shapes),
            final_state=z(0, n, layout.state_size), final_steps=[],
            stat_sums=z(len(EPISODE_STATS)), episodes=z(()))

    @property
    def steps(self) -> int:
        return self.logp.shape[0]

    @property
    def arenas(self) -> int:
        return self.logp.shape[1]

    def episode_means(self) -> dict[str, Tensor]:
        """Mean of every episode statistic over the finished, observed episodes (device)."""
        means = self.stat_sums / self.episodes.clamp(min=1)
        return {k: means[i] for i, k in enumerate(EPISODE_STATS)}

    # ------------------------------------------------------------------ transport
    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every field as a numpy array (tuples as ``name_i``), e.g. to ship a fragment."""
        out: dict[str, np.ndarray] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if isinstance(v, tuple):
                for i, x in enumerate(v):
                    out[f"{f.name}_{i}"] = x.cpu().numpy()
            elif isinstance(v, list):
                out[f.name] = np.asarray(v, dtype=np.int64)
            else:
                out[f.name] = v.cpu().numpy()
        return out

    @staticmethod
    def from_numpy(arrays: dict[str, np.ndarray], device: torch.device | str) -> "RolloutBuffer":
        def t(name: str) -> Tensor:
            x = arrays[name]  # ascontiguousarray makes 0-d arrays (``episodes``) 1-d
            return torch.from_numpy(np.ascontiguousarray(x).reshape(x.shape)).to(device)

        return RolloutBuffer(
            obs=tuple(t(f"obs_{i}") for i in range(4)), state=t("state"), mask=t("mask"),
            memory=t("memory") if "memory" in arrays else None, actions=t("actions"),
            logp=t("logp"), reward=t("reward"), present=t("present"), truncated=t("truncated"),
            valid=t("valid"), trainable=t("trainable"),
            final_obs=tuple(t(f"final_obs_{i}") for i in range(4)), final_state=t("final_state"),
            final_steps=[int(x) for x in arrays["final_steps"]], stat_sums=t("stat_sums"),
            episodes=t("episodes"))

    @staticmethod
    def concat(parts: list["RolloutBuffer"]) -> "RolloutBuffer":
        """Join fragments of the same length along the arena dimension."""
        if len(parts) == 1:
            return parts[0]
        steps = sorted({s for p in parts for s in p.final_steps})

        def finals(p: RolloutBuffer, x: Tensor) -> Tensor:
            # Every fragment gets a row for every final step; arenas that did not end there
            # stay zero and are never read (``truncated`` is False for them).
            out = x.new_zeros(len(steps), *x.shape[1:])
            for j, s in enumerate(p.final_steps):
                out[steps.index(s)] = x[j]
            return out

        def cat(get, dim=1):
            return torch.cat([get(p) for p in parts], dim)

        return RolloutBuffer(
            obs=tuple(cat(lambda p, i=i: p.obs[i]) for i in range(4)), state=cat(lambda p: p.state),
            mask=cat(lambda p: p.mask),
            memory=None if parts[0].memory is None else cat(lambda p: p.memory),
            actions=cat(lambda p: p.actions), logp=cat(lambda p: p.logp),
            reward=cat(lambda p: p.reward), present=cat(lambda p: p.present),
            truncated=cat(lambda p: p.truncated), valid=cat(lambda p: p.valid),
            trainable=cat(lambda p: p.trainable, 0),
            final_obs=tuple(cat(lambda p, i=i: finals(p, p.final_obs[i])) for i in range(4)),
            final_state=cat(lambda p: finals(p, p.final_state)), final_steps=steps,
            stat_sums=sum(p.stat_sums for p in parts), episodes=sum(p.episodes for p in parts))
