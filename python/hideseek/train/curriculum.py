"""A state-reset curriculum for training (after SACL / ZACL: start some episodes from states that
earlier episodes visited): with probability ``prob`` an arena whose episode ended continues from
a state saved during the preparation phase of an earlier episode, instead of a fresh layout.

The reward is unchanged: the saved state carries its step counter and the statistic accumulators
of the episode it came from, so an episode started mid-prep plays on and is scored exactly as the
episode it was saved from would have been (WORLD.md's rewards and prep rules follow its step
counter). What it changes is where exploration starts: positions that took many prep steps to
reach (a box carried halfway to a door) come round far more often than from a fresh layout.

The curves of a run count only episodes that started fresh (a continued episode's statistics
begin in another episode), and the periodic evaluation always plays fresh episodes. Saved states
are taken at random steps 1 .. prep_steps - 1 of random arenas, ``record`` per step, into a ring
of ``buffer`` states on the simulator's device; which ones, and which episodes restart from them,
comes from a generator of its own. All of it is part of a checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..sim.state import SimState
from .config import CurriculumConfig


class PrepStateCurriculum:
    def __init__(self, cfg: CurriculumConfig, prep_steps: int, num_arenas: int,
                 device: torch.device, seed: int):
        self.cfg, self.prep_steps = cfg, prep_steps
        self.generator = torch.Generator().manual_seed(seed)       # on the host: no device sync
        self.saved: SimState | None = None      # allocated at the first record, [buffer] rows
        self.size, self.next = 0, 0
        # Arenas whose current episode continued a saved state (their statistics are not counted).
        self.continued = torch.zeros(num_arenas, dtype=torch.bool, device=device)

    def record(self, sim) -> None:
        """After a step: save ``record`` random arenas that are in their prep phase."""
        t = sim.steps_taken
        candidates = np.flatnonzero((t >= 1) & (t < self.prep_steps))
        if len(candidates) == 0:
            return
        pick = torch.randperm(len(candidates), generator=self.generator)[:self.cfg.record]
        arenas = torch.as_tensor(candidates[pick.numpy()], device=self.continued.device)
        state = sim.state
        if self.saved is None:
            self.saved = SimState(**{k: torch.zeros(self.cfg.buffer, *v.shape[1:], dtype=v.dtype,
                                                    device=v.device)
                                     for k, v in state.tensors().items()})
        rows = (self.next + torch.arange(len(arenas))) % self.cfg.buffer
        for k, v in state.tensors().items():
            getattr(self.saved, k)[rows.to(v.device)] = v[arenas]
        self.next = int((self.next + len(arenas)) % self.cfg.buffer)
        self.size = min(self.size + len(arenas), self.cfg.buffer)

    def restart(self, sim, ended: np.ndarray):
        """Where episodes just ended (``ended``: host bool [N]), continue some arenas from saved
        states. Returns the simulator's new observation, or None when nothing was restarted."""
        ended_idx = np.flatnonzero(ended)
        draws = torch.rand(len(ended_idx), generator=self.generator).numpy()
        chosen = ended_idx[draws < self.cfg.prob] if self.size else ended_idx[:0]
        started = torch.zeros_like(self.continued)
        obs = None
        if len(chosen):
            rows = torch.randint(self.size, (len(chosen),), generator=self.generator)
            rows = rows.to(self.continued.device)
            state = SimState(**{k: v[rows] for k, v in self.saved.tensors().items()})
            arenas = torch.as_tensor(chosen, device=self.continued.device)
            obs = sim.start_from(arenas, state)
            started[arenas] = True
        ended_t = torch.as_tensor(ended, device=self.continued.device)
        self.continued = torch.where(ended_t, started, self.continued)
        return obs

    # ------------------------------------------------------------------ checkpoints
    def state_tensors(self) -> dict[str, Tensor]:
        out = {"rng": self.generator.get_state(), "continued": self.continued,
               "counters": torch.tensor([self.size, self.next])}
        if self.saved is not None:
            out.update({f"saved.{k}": v for k, v in self.saved.tensors().items()})
        return out

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        self.generator.set_state(tensors["rng"])
        self.continued = tensors["continued"].to(self.continued.device)
        self.size, self.next = (int(x) for x in tensors["counters"])
        saved = {k[len("saved."):]: v.to(self.continued.device) for k, v in tensors.items()
                 if k.startswith("saved.")}
        self.saved = SimState(**saved) if saved else None
