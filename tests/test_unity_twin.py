"""The twin as a Unity player, driven by the real ``mlagents_envs.UnityEnvironment`` (no mocks),
plus the codecs it is built from (side channels, wire encoding, command line)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from hideseek.contract import (ACTION_BRANCHES, EPISODE_STATS, NO_MOVE_BIN, REPO_ROOT,
                               load_world_config)
from hideseek.envs import side_channels as sc
from hideseek.sim import TwinSim
from hideseek.unity_twin.options import parse_args
from hideseek.unity_twin.wire import ObservationHeader, encode_agent_infos

from mlagents_envs.base_env import ActionTuple
from mlagents_envs.communicator_objects.unity_rl_output_pb2 import UnityRLOutputProto
from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.exception import UnityEnvironmentException
from mlagents_envs.side_channel.engine_configuration_channel import EngineConfigurationChannel
from mlagents_envs.side_channel.environment_parameters_channel import (
    EnvironmentParametersChannel)
from mlagents_envs.side_channel.stats_side_channel import (StatsAggregationMethod,
                                                           StatsSideChannel)

# UnityEnvironment strips ".x86_64" and finds the file again, as for a real Linux player.
LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
BASE_PORT = 52100  # this file's port range: 52100-52119


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


# --------------------------------------------------------------------------- the conversation

def test_protocol_conversation(tmp_path):
    """Handshake, reset, steps, masks, rewards, truncation, side channels and close of one
    2-arena twin, checked against the protocol agreements and the in-process TwinSim."""
    world = load_world_config("quadrant", {"horizon": 6, "prep_fraction": 0.5})
    params, stats, state_ch = EnvironmentParametersChannel(), StatsSideChannel(), \
        sc.GlobalStateChannel()
    engine = EngineConfigurationChannel()
    for key, value in sc.world_to_parameters({"horizon": 6, "prep_fraction": 0.5,
                                              "num_arenas": 2,
                                              sc.GLOBAL_STATE_REQUEST_KEY: 1}).items():
        params.set_float_parameter(key, value)
    engine.set_configuration_parameters(time_scale=50.0, width=64, height=48)
    env = UnityEnvironment(LAUNCHER, worker_id=0, base_port=BASE_PORT, seed=11, no_graphics=True,
                           timeout_wait=60, side_channels=[params, stats, state_ch, engine],
                           log_folder=str(tmp_path),
                           additional_args=["-screen-fullscreen", "0", "--unknown-flag"])
    process = env._process
    try:
        env.reset()
        lay = world.layout
        # Behaviour specs: both teams, the contract's shapes, BufferSensor dimension properties.
        specs = env.behavior_specs
        assert set(specs) == {"Hider?team=0", "Seeker?team=1"}
        for spec in specs.values():
            assert tuple(tuple(o.shape) for o in spec.observation_specs) == lay.obs_shapes
            assert [o.name for o in spec.observation_specs] == sorted(
                o.name for o in spec.observation_specs)
            assert [int(p) for p in spec.observation_specs[1].dimension_property] == [4, 1]
            assert spec.action_spec.discrete_branches == ACTION_BRANCHES
        # Ids in creation order (arena 0 hiders, seekers, arena 1 ...), one group per team/arena.
        hd, _ = env.get_steps("Hider?team=0")
        sd, _ = env.get_steps("Seeker?team=1")
        assert hd.agent_id.tolist() == [0, 1, 4, 5] and sd.agent_id.tolist() == [2, 3, 6, 7]
        assert list(hd.group_id) == [1, 1, 3, 3] and list(sd.group_id) == [2, 2, 4, 4]
        # Observations and critic state equal the in-process twin with the handshake seed.
        ref = TwinSim(world, 2, seed=11).reset(11)
        np.testing.assert_allclose(hd.obs[0], ref.obs_0[:, :2].reshape(4, -1).numpy(), atol=1e-6)
        np.testing.assert_allclose(sd.obs[1], ref.obs_1[:, 2:].reshape(4, 3, 10).numpy(),
                                   atol=1e-6)
        msgs = state_ch.pop_messages()
        assert [(m.arena, m.step_in_episode) for m in msgs] == [(0, 0), (1, 0)]
        np.testing.assert_allclose(msgs[1].state, ref.state[1].numpy(), atol=1e-6)
        # Masks on the wire are True = forbidden: seekers may only do nothing during prep.
        seeker_masks = sd.action_mask
        assert all(m.shape == (4, n) for m, n in zip(seeker_masks, ACTION_BRANCHES))
        assert (~seeker_masks[0]).sum(1).tolist() == [1] * 4 and not seeker_masks[0][:, NO_MOVE_BIN].any()
        assert not any(m.any() for m in hd.action_mask)

        hider_moves = np.tile(np.array([[10, 10, 5, 0, 0]], np.int32), (4, 1))
        hider_rewards = []  # arena 0's team reward per step, mean over its hiders
        for t in range(1, 7):
            env.set_actions("Hider?team=0", ActionTuple(discrete=hider_moves))
            env.step()  # seekers get UnityEnvironment's empty (all-zero) action
            hd, ht = env.get_steps("Hider?team=0")
            sd, st = env.get_steps("Seeker?team=1")
            if t <= 3:  # preparation: no rewards at all
                assert not hd.group_reward.any() and not sd.group_reward.any()
            if t < 6:
                assert [m.step_in_episode for m in state_ch.pop_messages()] == [t, t]
                hider_rewards.append(hd.group_reward[:2].mean())
                assert len(ht) == 0 and len(st) == 0
                assert hd.agent_id.tolist() == [0, 1, 4, 5]
                if t > 3:  # zero-sum team rewards; the agent's own reward is the oob penalty
                    assert set(np.abs(hd.group_reward)) == {1.0}
                    np.testing.assert_array_equal(hd.group_reward.reshape(2, 2)[:, 0],
                                                  -sd.group_reward.reshape(2, 2)[:, 0])
                    assert set(hd.reward) <= {0.0, -world.oob_penalty}
        # Horizon: a terminal (interrupted) and a decision step for every agent in one message.
        assert ht.agent_id.tolist() == [0, 1, 4, 5] and st.agent_id.tolist() == [2, 3, 6, 7]
        assert ht.interrupted.all() and st.interrupted.all()
        assert hd.agent_id.tolist() == [0, 1, 4, 5] and not hd.reward.any()
        assert set(np.abs(ht.group_reward)) == {1.0}
        msgs = state_ch.pop_messages()
        assert [(m.arena, m.step_in_episode) for m in msgs] == [(0, 6), (0, 0), (1, 6), (1, 0)]
        got = stats.get_and_reset_stats()
        for name in EPISODE_STATS:
            values = got[sc.STATS_PREFIX + name]
            assert len(values) == 2
            assert all(agg == StatsAggregationMethod.AVERAGE for _, agg in values)
        hider_return = sum(hider_rewards) + ht.group_reward[:2].mean()
        assert got[sc.STATS_PREFIX + "hider_return"][0][0] == pytest.approx(hider_return)
        # The new episode starts in prep again: seekers masked, hiders free.
        assert sd.action_mask[0].any() and not hd.action_mask[0].any()
    finally:
        t0 = time.monotonic()
        env.close()
    assert time.monotonic() - t0 < 10
    assert process.returncode == 0
    log_text = (tmp_path / "Player-0.log").read_text()
    assert "--mlagents-port 52100" in log_text
    assert "time_scale=50.0" in log_text and "width=64" in log_text
    assert "trainer closed the connection" in log_text


def test_invalid_parameter_stops_the_player_with_a_clear_log(tmp_path):
    params = EnvironmentParametersChannel()
    params.set_float_parameter("horizon", 1.5)
    env = UnityEnvironment(LAUNCHER, worker_id=1, base_port=BASE_PORT, no_graphics=True,
                           timeout_wait=20, side_channels=[params], log_folder=str(tmp_path))
    try:
        with pytest.raises(UnityEnvironmentException, match="return code 2"):
            env.reset()
    finally:
        env.close()
    text = (tmp_path / "Player-1.log").read_text()
    assert "configuration error: EnvironmentParameters: horizon = 1.5: expected an integer" in text


TRAINER_SCRIPT = """
    import os, signal, sys
    from hideseek.envs import mlagents_compat
    mlagents_compat.install()
    from mlagents_envs.environment import UnityEnvironment
    env = UnityEnvironment({launcher!r}, worker_id=2, base_port={port}, no_graphics=True,
                           num_areas=3, timeout_wait=60)
    env.reset()
    decision, _ = env.get_steps("Hider?team=0")
    print(env._process.pid, len(decision), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_player_uses_num_areas_and_exits_when_the_trainer_dies():
    script = textwrap.dedent(TRAINER_SCRIPT.format(launcher=LAUNCHER, port=BASE_PORT))
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr
    pid, hiders = (int(x) for x in res.stdout.splitlines()[-1].split())
    assert hiders == 3 * 2  # num_areas=3 from the handshake, 2 hiders each
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the twin kept running after its trainer was killed"


def test_plain_mlagents_client_gets_no_global_state(tmp_path):
    """An mlagents-learn-style client (plain UnityEnvironment, stock side channels, no
    hideseek_global_state parameter) receives no global-state message, so mlagents_envs logs no
    "Unknown side channel data received"; setting the parameter turns the messages on."""
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.WARNING)
    manager_log = logging.getLogger("mlagents_envs.side_channel.side_channel_manager")
    manager_log.addHandler(handler)
    params, stats = EnvironmentParametersChannel(), StatsSideChannel()
    params.set_float_parameter("horizon", 3)
    env = UnityEnvironment(LAUNCHER, worker_id=3, base_port=BASE_PORT, no_graphics=True,
                           timeout_wait=60, side_channels=[params, stats],
                           log_folder=str(tmp_path))
    try:
        env.reset()
        for _ in range(4):  # across an episode end (statistics are sent, state is not)
            env.step()
        assert any(k.startswith(sc.STATS_PREFIX) for k in stats.get_and_reset_stats())
        assert not [r for r in records if "Unknown side channel" in r.getMessage()]
        # The same player sends the state once asked.
        state_ch = sc.GlobalStateChannel()
        env._side_channel_manager._side_channels_dict[state_ch.channel_id] = state_ch
        params.set_float_parameter(sc.GLOBAL_STATE_REQUEST_KEY, 1.0)
        env.step()
        assert len(state_ch.pop_messages()) == 1
    finally:
        manager_log.removeHandler(handler)
        env.close()


def test_reward_split_is_the_rule_total_minus_its_team_part():
    """The player's group reward is sim.rules' team term and individual = total - group, for
    present and absent agents; the individual part is exactly the out-of-bounds term."""
    import torch

    from hideseek.sim.sensors import SensorConstants
    from hideseek.unity_twin.academy import team_reward

    world = load_world_config("random_rooms", {"n_hiders": [1, 2], "n_seekers": [1, 3],
                                               "horizon": 24, "prep_fraction": 0.25})
    n = 6
    sim = TwinSim(world, n, seed=9)
    sim.reset(9)
    sim.state.agent_pos[:, 0] = world.floor_size  # hider 0 of every arena outside the floor
    sim.observe()
    consts = SensorConstants.of(world, "cpu")
    gen = torch.Generator().manual_seed(0)
    t = np.zeros(n, dtype=np.int64)
    seen_oob = seen_absent = False
    for step in range(world.horizon - 1):
        actions = torch.stack([torch.randint(0, b, (n, world.layout.max_agents), generator=gen)
                               for b in ACTION_BRANCHES], -1)
        out = sim.step(actions)
        present = out.obs.present.numpy()
        group = team_reward(world, consts, out.hidden.numpy(), t, present)
        total = out.reward.numpy()
        individual = total - group
        np.testing.assert_array_equal(individual + group, total)
        assert not group[~present].any() and not individual[~present].any()
        if step < world.prep_steps:
            assert not group.any()
        else:
            assert set(np.abs(group[present])) == {1.0}
        assert set(np.round(individual[present], 6)) <= {0.0, -world.oob_penalty}
        seen_oob |= bool((individual[present] == -world.oob_penalty).any())
        seen_absent |= bool((~present).any())
        t += 1
    assert seen_oob and seen_absent  # the scene did exercise both cases


# --------------------------------------------------------------------------- codecs

def test_command_line_is_unity_like():
    opts = parse_args(["-nographics", "-batchmode", "--mlagents-port", "5123", "-logfile",
                       "/tmp/x/Player-3.log", "-screen-width", "84", "--twin-arena",
                       "random_rooms", "--twin-fault", "nan@7", "--twin-fault-once", "/tmp/m"])
    assert opts.port == 5123 and opts.log_file == Path("/tmp/x/Player-3.log")
    assert opts.arena == "random_rooms" and opts.fault.kind == "nan" and opts.fault.step == 7
    assert opts.fault.once_path == Path("/tmp/m")
    for bad in ("explode@3", "crash@0", "crash"):
        with pytest.raises(ValueError, match="--twin-fault"):
            parse_args(["--twin-fault", bad])
    assert opts.step_sleep_ms == 0.0
    assert parse_args(["--twin-step-sleep-ms", "5"]).step_sleep_ms == 5.0
    for bad in ("-1", "nan"):
        with pytest.raises(ValueError, match="--twin-step-sleep-ms"):
            parse_args(["--twin-step-sleep-ms", bad])


def test_wire_encoding_parses_as_agent_infos():
    headers = [ObservationHeader((3,), (1,), "obs_0_self"),
               ObservationHeader((2, 2), (4, 1), "obs_1_agents")]
    rng = np.random.default_rng(0)
    o0, o1 = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 2, 2)).astype(
        np.float32)
    forbidden = np.array([[True, False, True], [False, False, False]])
    data = encode_agent_infos([3, 300], [1, 2], np.array([0.5, -10.0]), np.array([1.0, -1.0]),
                              True, True, forbidden, [o0, o1], headers)
    infos = UnityRLOutputProto.ListAgentInfoProto.FromString(data).value
    assert [i.id for i in infos] == [3, 300] and [i.group_id for i in infos] == [1, 2]
    assert [i.reward for i in infos] == [0.5, -10.0] and [i.group_reward for i in infos] == [1, -1]
    assert all(i.done and i.max_step_reached for i in infos)
    assert list(infos[0].action_mask) == [True, False, True]
    obs = infos[1].observations[1]
    assert list(obs.shape) == [2, 2] and list(obs.dimension_properties) == [4, 1]
    assert obs.name == "obs_1_agents"
    np.testing.assert_array_equal(np.array(obs.float_data.data, np.float32), o1[1].ravel())
    with pytest.raises(ValueError, match="expects 3 floats"):
        encode_agent_infos([0], [1], np.zeros(1), np.zeros(1), False, False,
                           np.zeros((1, 3), bool), [np.zeros((1, 4)), o1[:1]], headers)


def test_side_channel_frames_round_trip_and_reject_truncation():
    a, b = uuid.uuid4(), uuid.uuid4()
    frames = [(a, b"xyz"), (b, b""), (a, bytes(range(40)))]
    assert sc.split_frames(sc.pack_frames(frames)) == frames
    with pytest.raises(ValueError, match="claims 40 bytes"):
        sc.split_frames(sc.pack_frames(frames)[:-1])
    msg = sc.decode_global_state(sc.encode_global_state(3, 17, np.arange(5, dtype=np.float32)))
    assert (msg.arena, msg.step_in_episode, msg.state.tolist()) == (3, 17, [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="claims 5 floats"):
        sc.decode_global_state(sc.encode_global_state(0, 0, np.zeros(5))[:-4])


@pytest.mark.parametrize("arena", ["quadrant", "random_rooms"])
def test_world_survives_the_float_parameter_channel(arena):
    world = load_world_config(arena, {"prep_fraction": 0.7, "horizon": 10, "dt": 0.05,
                                      "physics_timestep": 0.01})
    values = {k: float(np.float32(v)) for k, v in sc.world_to_parameters(world).items()}
    back, extra = sc.parameters_to_world(load_world_config("quadrant"), values)
    assert back == world and extra == {}
    assert back.prep_steps == world.prep_steps == 7  # 10 * float32(0.7) would floor to 6


@pytest.mark.parametrize("params, message", [
    ({"horizon": 1.5}, "horizon = 1.5: expected an integer"),
    ({"hoizon": 3.0}, "hoizon = 3.0: expected a WorldConfig field"),
    ({"n_boxes_max": 40.0}, "n_boxes = 40"),
    ({"scenario": 5.0}, "scenario = 5.0: expected an index"),
    ({"num_arenas": 0.0}, "num_arenas = 0.0: expected at least 1"),
])
def test_bad_parameters_raise_config_errors(params, message):
    from hideseek.config_io import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        sc.parameters_to_world(load_world_config("quadrant"), params)


def test_engine_messages_are_decoded():
    channel = EngineConfigurationChannel()
    channel.set_configuration_parameters(width=80, height=60, time_scale=0.5,
                                         target_frame_rate=30)
    settings = sc.EngineSettings()
    for payload in channel.message_queue:
        settings = sc.apply_engine_message(bytes(payload), settings)
    assert (settings.width, settings.height, settings.target_frame_rate) == (80, 60, 30)
    assert settings.time_scale == 1.0  # Unity clamps the time scale to >= 1
