"""hideseek plot's phase detector on synthetic scalars: where a phase is found in a long run."""

from __future__ import annotations

import numpy as np

from hideseek.plots import phase_transitions


def _run(updates: int, chase: range) -> list[dict]:
    """A run whose seekers beat random play during the updates in ``chase`` (noisy returns)."""
    rng = np.random.default_rng(0)
    return [{"update": u, "agent_steps": 81920 * u, "minutes": u / 20,
             "episode/hider_return": (-30.0 if u in chase else -10.0) + rng.normal(0, 3)}
            for u in range(1, updates + 1)]


def test_a_long_runs_early_phase_is_found_where_it_happened():
    """7,000 updates: chasing during updates 5-100 (until the hiders answer) is found there, not
    averaged away by a window of 5 % of the run (350 updates)."""
    found = phase_transitions(_run(7000, chase=range(5, 100)), {"hider_return": -10.0})
    assert found["chasing"]["update"] <= 60


def test_a_phase_that_never_happens_is_not_found():
    assert "chasing" not in phase_transitions(_run(3000, chase=range(0)), {"hider_return": -10.0})
