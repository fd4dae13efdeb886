"""PhysX lays out each episode as Unity's C# LayoutGenerator does: the bodies and wall colliders
in the PhysX scene, read back from PhysX, against the layouts ``UnityProject/ci/check
--dump-contract`` prints (the same data ``test_unity_parity`` checks the twin against)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("sapien", reason="the physx extra (pip install -e '.[physx]')")

from hideseek.contract import load_world_config  # noqa: E402
from hideseek.physx.scene import FOOT_OFFSET, PARK_DEPTH, quaternion_yaw  # noqa: E402
from hideseek.physx.sim import PhysxSim  # noqa: E402
from test_unity_parity import SCENARIOS, csharp_contract  # noqa: E402


def _pose(entity) -> tuple[np.ndarray, float]:
    pose = entity.get_pose()
    return np.asarray(pose.p, dtype=np.float64), float(quaternion_yaw(np.asarray(pose.q)))


def _same_heading(a: float, b: float) -> bool:
    return abs(math.sin(a - b)) < 1e-4 and math.cos(a - b) > 0


def _check_arena(sim: PhysxSim, k: int, case: dict, where: str) -> None:
    actors = sim.actors(k)
    origin = actors.origin
    agents, objects = case["agents"], case["boxes"] + case["ramps"]
    for e, row in enumerate(agents + objects):
        p, yaw = _pose(actors.bodies[e].entity)
        if not row["present"]:
            assert p[2] < PARK_DEPTH + 1.0, f"{where}: entity {e} absent but not parked"
            continue
        np.testing.assert_allclose(p[:2] - origin, row["pos"], atol=1e-5, err_msg=f"{where}: {e}")
        base = FOOT_OFFSET if e < len(agents) else 0.0
        assert abs(p[2] - base) < 2e-3, f"{where}: entity {e} stands at z = {p[2]}"
        assert _same_heading(yaw, row["theta"]), f"{where}: entity {e} heading"
    for b, row in enumerate(case["boxes"]):
        if row["present"]:
            half = actors.bodies[len(agents) + b].get_collision_shapes()[0].half_size
            want = sim.world.elongated_box_length if row["elongated"] else sim.world.box_size
            assert math.isclose(2 * half[0], want, abs_tol=1e-6), f"{where}: box {b} length"
    # One wall collider per present C# wall slot, along its centre line.
    walls = [w for w in case["walls"] if w[0] > 0.5 and math.hypot(w[3] - w[1], w[4] - w[2]) > 1e-6]
    assert len(actors.walls) == len(walls), where
    for wall, (_, x1, y1, x2, y2) in zip(actors.walls, walls):
        p, yaw = _pose(wall)
        np.testing.assert_allclose(p[:2] - origin, [(x1 + x2) / 2, (y1 + y2) / 2], atol=1e-5,
                                   err_msg=f"{where}: wall centre")
        assert abs(math.sin(yaw - math.atan2(y2 - y1, x2 - x1))) < 1e-5, f"{where}: wall angle"
        half = wall.components[0].get_collision_shapes()[0].half_size
        assert math.isclose(2 * half[0], math.hypot(x2 - x1, y2 - y1), abs_tol=1e-5), where


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_episode_lays_out_as_the_csharp_generator(scenario):
    world = load_world_config(scenario)
    cases = csharp_contract()["scenarios"][scenario]["layouts"]
    by_seed: dict[int, dict[int, dict]] = {}
    for case in cases:
        by_seed.setdefault(case["seed"], {})[case["episode"]] = case
    for seed, episodes in by_seed.items():
        sim = PhysxSim(world, 1, seed=seed)
        episode = 0
        for target in sorted(episodes):
            while episode < target:
                sim.reset()                      # the arena's next episode
                episode += 1
            _check_arena(sim, 0, episodes[target], f"{scenario} seed {seed} episode {target}")


def test_arena_k_of_a_batch_plays_seed_plus_k():
    """Arena k of a batch seeded s is the single arena seeded s + k (Unity: builder seed + k)."""
    world = load_world_config("quadrant")
    layouts = csharp_contract()["scenarios"]["quadrant"]["layouts"]
    cases = {(c["seed"], c["episode"]): c for c in layouts}
    sim = PhysxSim(world, 8, seed=0)       # arenas 0, 1 and 7 have C# data for episode 0
    for k in (0, 1, 7):
        _check_arena(sim, k, cases[(k, 0)], f"batch arena {k}")
    # And after auto-reset, the arena's next episode: step to the horizon.
    noop = torch.tensor([5, 5, 5, 0, 0]).repeat(8, world.layout.max_agents, 1)
    for _ in range(world.horizon):
        out = sim.step(noop)
    assert bool(out.truncated.all())
    for k in (0, 1, 7):
        _check_arena(sim, k, cases[(k, 1)], f"batch arena {k} after auto-reset")
