"""PhysxSim keeps TwinSim's API and contract: the same observations of the same layout, step
results of the same shapes and kinds, auto-reset at the horizon into the arena's next
episode, determinism, and clear errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

pytest.importorskip("sapien", reason="the physx extra (pip install -e '.[physx]')")

from hideseek import physx  # noqa: E402
from hideseek.config_io import ConfigError  # noqa: E402
from hideseek.contract import EPISODE_STATS, load_world_config  # noqa: E402
from hideseek.physx.sim import PhysxSim  # noqa: E402
from hideseek.sim import TwinSim  # noqa: E402


def _world(scenario: str = "quadrant", **overrides):
    return load_world_config(scenario, {"horizon": 12, **overrides})


def _random_actions(n: int, world, gen: torch.Generator) -> torch.Tensor:
    a = world.layout.max_agents
    act = torch.randint(0, 11, (n, a, 5), generator=gen)
    act[..., 3:] = torch.randint(0, 2, (n, a, 2), generator=gen)
    return act


@pytest.mark.parametrize("scenario", ["quadrant", "random_rooms"])
def test_reset_observes_the_twins_layout_with_the_twins_functions(scenario):
    world = _world(scenario)
    twin, px = TwinSim(world, 3, seed=11), PhysxSim(world, 3, seed=11)
    for name in ("obs_0", "obs_1", "obs_2", "obs_3", "action_mask", "state", "present"):
        assert torch.equal(getattr(twin.obs, name), getattr(px.obs, name)), name
    for field in dataclasses.fields(twin.state):
        name = field.name
        assert torch.equal(getattr(twin.state, name), getattr(px.state, name)), name


def test_step_results_and_auto_reset():
    world = _world()
    n = 3
    sim = PhysxSim(world, n, seed=5)
    gen = torch.Generator().manual_seed(0)
    layout = world.layout
    for t in range(1, world.horizon + 1):
        out = sim.step(_random_actions(n, world, gen))
        assert out.reward.shape == (n, layout.max_agents) and out.reward.dtype == torch.float32
        assert out.hidden.shape == (n,) and out.hidden.dtype == torch.bool
        assert out.obs.obs_0.shape == (n, layout.max_agents, *layout.obs_shapes[0])
        assert out.obs.state.shape == (n, layout.state_size)
        assert torch.isfinite(out.obs.obs_0).all() and torch.isfinite(out.obs.state).all()
        if t < world.horizon:
            assert not out.truncated.any() and out.final_obs is None and out.episode_stats is None
    assert out.truncated.all()
    assert list(out.episode_stats) == list(EPISODE_STATS)
    assert all(v.shape == (n,) and torch.isfinite(v).all() for v in out.episode_stats.values())
    # The new episode is the arena's next one of its seed, as in the twin.
    assert sim.state.episode.tolist() == [1, 1, 1] and sim.state.t.tolist() == [0, 0, 0]
    twin = TwinSim(world, n, seed=5)
    twin.reset()
    assert torch.equal(twin.obs.state, out.obs.state)


def test_same_seed_same_actions_same_trajectory():
    world = _world()
    runs = []
    for _ in range(2):
        sim = PhysxSim(world, 2, seed=3)
        gen = torch.Generator().manual_seed(1)
        runs.append([sim.step(_random_actions(2, world, gen)).obs.state for _ in range(10)])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_arenas_in_one_scene_or_one_scene_each_agree():
    """Arenas never touch: sharing a scene changes nothing but float rounding."""
    world = _world()
    gen = torch.Generator().manual_seed(2)
    actions = [_random_actions(4, world, gen) for _ in range(10)]
    shared, apart = PhysxSim(world, 4, seed=7), PhysxSim(world, 4, seed=7, arenas_per_scene=1)
    for act in actions:
        a, b = shared.step(act), apart.step(act)
    np.testing.assert_allclose(a.obs.state.numpy(), b.obs.state.numpy(), atol=1e-3)


def test_bad_inputs_are_refused_with_what_was_expected():
    world = _world()
    with pytest.raises(ValueError, match="num_arenas: expected >= 1"):
        PhysxSim(world, 0)
    with pytest.raises(ValueError, match="device: PhysxSim runs PhysX on the CPU"):
        PhysxSim(world, 1, device="cuda")
    with pytest.raises(ValueError, match="arenas_per_scene: expected >= 1"):
        PhysxSim(world, 2, arenas_per_scene=0)
    sim = PhysxSim(world, 2)
    with pytest.raises(ValueError, match=r"actions: expected shape \(2, 4, 5\)"):
        sim.step(torch.zeros(2, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="expected an integer tensor"):
        sim.step(torch.zeros(2, 4, 5))
    # The contract refuses a physics timestep that leaves a fraction of a step per decision.
    with pytest.raises(ConfigError, match="physics_timestep = 0.02: expected a whole fraction"):
        _world(physics_timestep=0.02)


def test_without_sapien_the_backend_names_the_extra(monkeypatch):
    monkeypatch.setattr(physx.importlib.util, "find_spec",
                        lambda name, *a: None if name == "sapien" else object())
    with pytest.raises(physx.PhysxUnavailable) as err:
        physx.require()
    assert str(err.value) == "the PhysX backend needs the physx extra: pip install -e '.[physx]'"
