"""The Unity project's C# holds its own copy of the contract (compiled-in arena defaults, the
observation/state layout, names and ids, the packing formulas). These tests compare that copy
with the Python side: ``UnityProject/ci/check --dump-contract`` compiles the engine-free C# Core
with Mono and prints it as JSON, which is checked against ``hideseek.contract``,
``configs/arenas/*.yaml``, the side-channel codecs and the twin's own packing functions.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hideseek import contract
from hideseek.config_io import to_dict
from hideseek.contract import WorldConfig, load_world_config

REPO = Path(__file__).resolve().parents[1]
CHECK = REPO / "UnityProject" / "ci" / "check"
SCENARIOS = ("quadrant", "random_rooms")


@functools.lru_cache(maxsize=1)
def csharp_contract() -> dict:
    missing = [tool for tool in ("mcs", "mono") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run `bash UnityProject/ci/check` once "
                    "(it installs Mono's mono-mcs, mono-runtime and NUnit from Debian and runs the "
                    "C# tests); CI runs it before pytest")
    proc = subprocess.run(["bash", str(CHECK), "--dump-contract"], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"{CHECK} --dump-contract failed (exit {proc.returncode}):\n"
                    f"{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}")
    return json.loads(proc.stdout)


def plain(value):
    """Tuples -> lists, recursively (the C# side writes JSON arrays)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_compiled_in_defaults_equal_the_arena_yaml(scenario):
    cs = csharp_contract()["scenarios"][scenario]["world"]
    py = to_dict(load_world_config(scenario))
    assert list(cs) == list(py), "C# fields must follow WorldConfig's declaration order"
    diff = {k: (cs[k], py[k]) for k in py if cs[k] != py[k]}
    assert not diff, f"C# WorldDefaults differ from configs/arenas/{scenario}.yaml (C#, Python): {diff}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_observation_and_state_layout_equal_the_contract(scenario):
    world = load_world_config(scenario)
    cs = csharp_contract()["scenarios"][scenario]
    assert cs["layout"] == plain(world.layout.describe())
    assert cs["prep_steps"] == world.prep_steps
    assert cs["max_walls"] == world.max_walls


def test_field_kinds_and_bounds_equal_the_python_specs():
    hints = {f.name: f for f in dataclasses.fields(WorldConfig)}
    cs_fields = {f["key"]: f for f in csharp_contract()["fields"]}
    assert list(cs_fields) == list(hints)
    for name, field in hints.items():
        meta = field.metadata
        cs = cs_fields[name]
        for bound in ("ge", "le", "gt", "lt"):
            assert cs[bound] == meta.get(bound), f"{name}.{bound}: C# {cs[bound]}, Python {meta.get(bound)}"
        default = getattr(WorldConfig(), name)
        expected = ("choice" if name == "scenario" else "range" if isinstance(default, tuple)
                    else "int" if isinstance(default, int) else "float")
        assert cs["kind"] == expected, name


def test_environment_parameter_keys_are_what_python_sends():
    from hideseek.envs import side_channels as sc

    keys = csharp_contract()["env_keys"]
    for scenario in SCENARIOS:
        world = load_world_config(scenario)
        sent = sc.world_to_parameters(world)
        assert set(sent) | {sc.NUM_ARENAS_KEY} == set(keys)
        # Every key Unity reads is one the Python decoder accepts, and the round trip is exact.
        back, extra = sc.parameters_to_world(WorldConfig(), {**sent, sc.NUM_ARENAS_KEY: 3.0})
        assert back == world and extra == {sc.NUM_ARENAS_KEY: 3}


def test_names_ids_and_channels():
    from hideseek.envs import side_channels as sc

    cs = csharp_contract()
    assert cs["behavior_names"] == contract.BEHAVIOR_NAMES
    assert cs["action_branches"] == list(contract.ACTION_BRANCHES)
    assert cs["action_branch_names"] == list(contract.ACTION_BRANCH_NAMES)
    assert cs["no_move_bin"] == contract.NO_MOVE_BIN
    assert cs["episode_stats"] == list(contract.EPISODE_STATS)
    assert cs["stats_prefix"] == sc.STATS_PREFIX
    assert cs["global_state_channel_id"] == str(sc.GLOBAL_STATE_ID)
    # The adapter asks for the critic state with this EnvironmentParameters key; without it the
    # scene sends nothing (mlagents-learn would log every message as unknown side-channel data).
    assert cs["global_state_request_key"] == sc.GLOBAL_STATE_REQUEST_KEY


def test_sensor_names_sort_into_obs_order():
    cs = csharp_contract()
    names = cs["sensor_names"]
    # ML-Agents numbers an agent's sensors obs_0.. after sorting them by name (SensorUtils.SortSensors).
    assert cs["sensor_names_sorted"] == names
    assert [n.split("_")[1] for n in names] == ["0", "1", "2", "3"]
    assert sorted(names) == names


def _walls(rows: list) -> tuple[torch.Tensor, torch.Tensor]:
    """C# wall slots [present, x1, y1, x2, y2] as the twin's wall_a, wall_b [1, W, 2]; the twin
    parks an absent slot at PARK_DISTANCE."""
    from hideseek.sim.state import PARK_DISTANCE

    t = torch.tensor(rows, dtype=torch.float32)
    present = t[:, :1] > 0.5
    park = torch.full((len(rows), 2), PARK_DISTANCE)
    return (torch.where(present, t[:, 1:3], park)[None], torch.where(present, t[:, 3:5], park)[None])


def _sim_state(world: WorldConfig, sample: dict):
    """The twin's SimState for the C# sample snapshot (only the fields packing reads matter)."""
    from hideseek.sim.state import SimState

    f32 = functools.partial(torch.tensor, dtype=torch.float32)
    agents, objects = sample["agents"], sample["objects"]
    wall_a, wall_b = _walls(sample["walls"])
    values = {
        "agent_pos": f32([[a["pos"] for a in agents]]),
        "agent_vel": f32([[a["vel"] for a in agents]]),
        "agent_z": f32([[a["z"] for a in agents]]),
        "agent_yaw": f32([[a["theta"] for a in agents]]),
        "agent_angvel": f32([[a["angvel"] for a in agents]]),
        "agent_present": torch.tensor([[a["present"] for a in agents]]),
        "obj_pos": f32([[o["pos"] for o in objects]]).reshape(1, len(objects), 2),
        "obj_vel": f32([[o["vel"] for o in objects]]).reshape(1, len(objects), 2),
        "obj_yaw": f32([[o["theta"] for o in objects]]).reshape(1, len(objects)),
        "obj_half": (f32([[o["size"] for o in objects]]) / 2).reshape(1, len(objects), 2),
        "obj_present": torch.tensor([[o["present"] for o in objects]], dtype=torch.bool).reshape(1, -1),
        "obj_locked_team": torch.tensor([[o["locked_team"] for o in objects]], dtype=torch.int64).reshape(1, -1),
        "obj_held_by": torch.tensor([[o["held_by"] for o in objects]], dtype=torch.int64).reshape(1, -1),
        "wall_a": wall_a, "wall_b": wall_b,
        "t": torch.tensor([sample["t"]], dtype=torch.int64),
    }
    filler = torch.zeros(1)
    return SimState(**{f.name: values.get(f.name, filler) for f in dataclasses.fields(SimState)})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_observation_packing_equals_the_twin(scenario):
    from hideseek.sim.sensors import SensorConstants, global_state, observe

    world = load_world_config(scenario)
    sample = csharp_contract()["scenarios"][scenario]["sample"]
    s = _sim_state(world, sample)
    c = SensorConstants.of(world, torch.device("cpu"))
    seen_agents = torch.tensor([sample["seen_agents"]])
    seen_objs = torch.tensor([sample["seen_objects"]], dtype=torch.bool).reshape(1, len(s.agent_yaw[0]), -1)
    lidar = torch.tensor([sample["lidar"]], dtype=torch.float32)
    obs_0, obs_1, obs_2, obs_3, frozen = observe(s, c, seen_agents, seen_objs, lidar)
    for name, twin in (("obs_0", obs_0), ("obs_1", obs_1), ("obs_2", obs_2), ("obs_3", obs_3)):
        cs = np.asarray(sample[name], dtype=np.float32)
        assert cs.shape == tuple(twin.shape[1:]), name
        np.testing.assert_allclose(cs, twin[0].numpy(), atol=1e-5, err_msg=f"{scenario} {name}")
    # The C# mask allows only the no-op exactly where the twin freezes an agent.
    noop_only = [sum(m) == len(contract.ACTION_BRANCHES) for m in sample["action_mask"]]
    assert noop_only == frozen[0].tolist()
    cs_state = np.asarray(sample["state"], dtype=np.float32)
    twin_state = global_state(s, c, obs_0)[0].numpy()
    assert cs_state.shape == twin_state.shape == (world.layout.state_size,)
    for block, part in world.layout.state_slices().items():
        np.testing.assert_allclose(cs_state[part], twin_state[part], atol=1e-5,
                                   err_msg=f"{scenario} critic state, block {block}")
    walls = world.layout.state_slices()["walls"]
    assert 0 < cs_state[walls].reshape(-1, 5)[:, 0].sum() <= world.max_walls


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_layouts_equal_the_twins_for_the_same_seed_and_episode(scenario):
    """C#'s LayoutGenerator is a port of sim/layouts.py on the same counter RNG: same wall slots
    (order, doors, merged pieces), counts, spawn points and headings."""
    from hideseek.sim.layouts import generate

    world = load_world_config(scenario)
    lay = world.layout
    cases = csharp_contract()["scenarios"][scenario]["layouts"]
    assert len(cases) >= 6
    for case in cases:
        where = f"{scenario} seed {case['seed']} episode {case['episode']}"
        s = generate(world, torch.tensor([case["seed"]]), torch.tensor([case["episode"]]))
        wall_a, wall_b = _walls(case["walls"])
        np.testing.assert_allclose(wall_a[0].numpy(), s.wall_a[0].numpy(), atol=1e-5, err_msg=f"{where}: wall starts")
        np.testing.assert_allclose(wall_b[0].numpy(), s.wall_b[0].numpy(), atol=1e-5, err_msg=f"{where}: wall ends")
        doors = s.door_pos[0][s.door_present[0]].numpy().reshape(-1, 2)
        np.testing.assert_allclose(np.asarray(case["doors"]).reshape(-1, 2), doors, atol=1e-5, err_msg=f"{where}: doors")
        agents = case["agents"]
        objects = case["boxes"] + case["ramps"]
        assert [a["present"] for a in agents] == s.agent_present[0].tolist(), where
        assert [o["present"] for o in objects] == s.obj_present[0].tolist(), where
        for kind, rows, pos, yaw, present in (
                ("agent", agents, s.agent_pos[0], s.agent_yaw[0], s.agent_present[0]),
                ("object", objects, s.obj_pos[0], s.obj_yaw[0], s.obj_present[0])):
            for i, row in enumerate(rows):
                if not row["present"]:
                    continue
                np.testing.assert_allclose(row["pos"], pos[i].numpy(), atol=1e-5, err_msg=f"{where}: {kind} {i}")
                assert abs(np.sin(row["theta"] - float(yaw[i]))) < 1e-5 and np.cos(row["theta"] - float(yaw[i])) > 0, \
                    f"{where}: {kind} {i} heading"
        elongated = (s.obj_half[0, :lay.max_boxes, 0] > world.box_size / 2 + 1e-6).tolist()
        assert [b["elongated"] for b in case["boxes"]] == elongated, where


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reward_split_pays_the_twins_reward(scenario):
    """What a Unity agent is paid, its own reward plus its group's (ML-Agents pays the group
    reward to every registered agent, absent ones too), is the twin's reward on the same scene."""
    from hideseek.sim.rules import rewards
    from hideseek.sim.sensors import SensorConstants
    from hideseek.sim.state import SimState, to_core

    world = load_world_config(scenario)
    c = SensorConstants.of(world, torch.device("cpu"))
    cases = csharp_contract()["scenarios"][scenario]["rewards"]
    assert {(case["in_prep"], any(map(any, case["seen_agents"]))) for case in cases} >= {
        (True, True), (False, True), (False, False)}
    for k, case in enumerate(cases):
        values = {"agent_pos": torch.tensor([case["pos"]], dtype=torch.float32),
                  "agent_present": torch.tensor([case["present"]])}
        s = SimState(**{f.name: values.get(f.name, torch.zeros(1)) for f in dataclasses.fields(SimState)})
        # The rules run on the twin's core layout: dimensions reversed, viewer before target.
        seen = torch.tensor([case["seen_agents"]]).permute(1, 2, 0)
        twin, _ = rewards(to_core(s), seen, torch.tensor([case["in_prep"]]), c, world)
        twin = twin[:, 0].numpy()
        np.testing.assert_allclose(case["total"], twin, atol=1e-6, err_msg=f"{scenario} case {k}: total")
        group = np.where(np.arange(world.max_agents) < world.n_hiders[1], case["hider_group"], case["seeker_group"])
        paid = np.asarray(case["individual"]) + group * np.asarray(case["in_group"])
        np.testing.assert_allclose(paid, twin, atol=1e-6, err_msg=f"{scenario} case {k}: individual + group")
        assert (np.abs(twin) > 5).any() or case["in_prep"], "a case with the out-of-bounds penalty"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_global_state_payload_decodes_in_python(scenario):
    from hideseek.envs.side_channels import decode_global_state

    sample = csharp_contract()["scenarios"][scenario]["sample"]
    msg = decode_global_state(bytes.fromhex(sample["payload_hex"]))
    assert msg.arena == sample["payload_arena"]
    assert msg.step_in_episode == sample["t"]
    assert msg.state.shape == (load_world_config(scenario).layout.state_size,)
    np.testing.assert_array_equal(msg.state, np.asarray(sample["state"], dtype=np.float32))


def test_project_settings_agree_with_the_code():
    """Layer numbers, the physics timestep and package pins: the Unity-side files the C# relies on."""
    import re

    project = REPO / "UnityProject"
    layers_cs = (project / "Assets/HideAndSeek/Runtime/Layers.cs").read_text()
    constants = {name: int(v) for name, v in re.findall(r"public const int (\w+) = (\d+);", layers_cs)}
    tag_manager = (project / "ProjectSettings/TagManager.asset").read_text()
    layer_block = tag_manager.split("layers:\n", 1)[1].split("m_SortingLayers", 1)[0]
    names = [line[4:].strip() for line in layer_block.splitlines() if line.startswith("  - ")]
    assert len(names) == 32
    for name in ("Agent", "Wall", "Box", "Ramp", "RampSight"):
        assert names[constants[name]] == name, f"TagManager layer {constants[name]} is {names[constants[name]]!r}"

    time_manager = (project / "ProjectSettings/TimeManager.asset").read_text()
    count = int(re.search(r"m_Count: (\d+)", time_manager).group(1))
    rate = int(re.search(r"m_Numerator: (\d+)", time_manager).group(1))
    fixed_dt = count / rate
    for scenario in SCENARIOS:
        # ArenaBuilder sets Time.fixedDeltaTime from the contract; the asset agrees, so the scene
        # runs the same timestep before the first arena is built (in the Editor too).
        world = load_world_config(scenario)
        assert abs(fixed_dt - world.physics_timestep) < 1e-12, \
            f"{scenario}: TimeManager's fixed timestep {fixed_dt} is not physics_timestep {world.physics_timestep}"

    manifest = json.loads((project / "Packages/manifest.json").read_text())
    assert manifest["dependencies"]["com.unity.ml-agents"] == "3.0.0"
    version = (project / "ProjectSettings/ProjectVersion.txt").read_text()
    assert re.match(r"m_EditorVersion: 6000\.0\.\d+f\d+", version)
    for asmdef in project.glob("Assets/**/*.asmdef"):
        json.loads(asmdef.read_text())
    # The ML-Agents versions the code accepts (HideSeekAgent.cs #error otherwise) are the ones whose
    # extracted API the stubs are checked against (UnityProject/ci/api).
    for name in ("Runtime/HideAndSeek.Runtime.asmdef", "Editor/HideAndSeek.Editor.asmdef"):
        defines = {d["define"]: d["expression"] for d in
                   json.loads((project / "Assets/HideAndSeek" / name).read_text())["versionDefines"]}
        assert defines == {"HIDESEEK_MLAGENTS_3": "3.0.0", "HIDESEEK_MLAGENTS_2": "[2.3.0-exp.3,3.0.0)"}, name
    api = {p.name for p in (project / "ci" / "api").glob("*.json")}
    assert {"mlagents-3.0.0.json", "mlagents-2.3.0-exp.3.json"} <= api


def _api_signatures():
    import importlib.util

    path = REPO / "UnityProject" / "ci" / "api_signatures.py"
    spec = importlib.util.spec_from_file_location("api_signatures", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_stubs_match_the_extracted_real_api():
    api = _api_signatures()
    assert api.diff() == 0


def test_signature_diff_catches_a_stub_that_differs_from_the_real_api(tmp_path, monkeypatch):
    """The CI check is only worth something if it fails: reintroduce two of the stub errors the
    review found (a parameter name, a property that is a field) and a member that does not exist."""
    api = _api_signatures()
    stubs = tmp_path / "stubs"
    shutil.copytree(api.STUBS, stubs)
    ml = stubs / "MLAgents.cs"
    text = ml.read_text()
    text = text.replace("float value, StatAggregationMethod", "float val, StatAggregationMethod")
    text = text.replace("public int[] BranchSizes;", "public int[] BranchSizes { get { throw null; } set { } }")
    text = text.replace("public void EndEpisode() { throw null; }",
                        "public void EndEpisode() { throw null; }\n        public void EndEpisodeNow() { throw null; }")
    ml.write_text(text)
    # A member Unity keeps only as a compile error ([Obsolete(..., true)]).
    engine = stubs / "UnityEngine.cs"
    engine.write_text(engine.read_text().replace(
        "public GameObject gameObject { get { throw null; } }",
        "public GameObject gameObject { get { throw null; } }\n        public Component rigidbody { get { throw null; } }", 1))
    monkeypatch.setattr(api, "STUBS", stubs)
    problems = api.diff_variant("unity6-mlagents3", api.VARIANTS["unity6-mlagents3"], api._parser())
    joined = "\n".join(problems)
    assert "float value" in joined and "float val," in joined, joined
    assert "BranchSizes" in joined and "EndEpisodeNow" in joined, joined
    assert "rigidbody { get; }` is obsolete as an error" in joined, joined
    assert len(problems) == 4, joined


def test_preprocessor_keeps_the_branches_of_the_defined_symbols():
    api = _api_signatures()
    text = "a\n#if X && !Y\nb\n#elif Y\nc\n#else\nd\n#endif\ne"
    kept = lambda defines: [l for l in api.preprocess(text, defines, "t").splitlines() if l]  # noqa: E731
    assert kept({"X"}) == ["a", "b", "e"]
    assert kept({"X", "Y"}) == ["a", "c", "e"]
    assert kept(set()) == ["a", "d", "e"]


def test_door_blocking_equals_the_twins():
    """EpisodeStats.DoorsBlocked (C#) and rules.blocked_doors (twin) on the same 300 random
    scenes of a door with up to three boxes, locked by either team or not at all."""
    from hideseek.sim.layouts import door_along
    from hideseek.sim.rules import blocked_doors
    cases = csharp_contract()["door_blocking"]
    world = load_world_config("quadrant", {"n_boxes": 3})
    n, boxes = len(cases), 3
    objects = boxes + world.layout.max_ramps
    core = {
        "obj_pos": torch.full((2, objects, n), -1000.0), "obj_half": torch.full((2, objects, n), 0.25),
        "obj_yaw": torch.zeros(objects, n), "obj_present": torch.zeros(objects, n, dtype=torch.bool),
        "obj_locked_team": torch.full((objects, n), -1, dtype=torch.int64),
        "door_pos": torch.zeros(2, 2, n), "door_present": torch.zeros(2, n, dtype=torch.bool),
    }
    slots = [tuple(a) for a in door_along(world)]
    for k, case in enumerate(cases):
        slot = slots.index(tuple(case["along"]))
        core["door_pos"][:, slot, k] = torch.tensor(case["door"])
        core["door_present"][slot, k] = True
        for b, box in enumerate(case["boxes"]):
            core["obj_pos"][:, b, k] = torch.tensor(box["pos"])
            core["obj_half"][:, b, k] = torch.tensor(box["size"]) / 2
            core["obj_yaw"][b, k] = box["yaw"]
            core["obj_present"][b, k] = box["present"]
            core["obj_locked_team"][b, k] = box["locked_team"]
    by_any, by_hiders = blocked_doors(core, world)
    cs_any = torch.tensor([c["blocked"] for c in cases], dtype=torch.float32)
    cs_hiders = torch.tensor([c["blocked_by_hiders"] for c in cases], dtype=torch.float32)
    assert 30 < int(cs_any.sum()) < n - 30, "both verdicts are exercised"
    assert torch.equal(by_any.sum(0).float(), cs_any)
    assert torch.equal(by_hiders.sum(0).float(), cs_hiders)
