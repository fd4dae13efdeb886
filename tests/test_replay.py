"""The 3-D replay: what the recorder keeps, the self-contained page and its size, the pinned
three.js, and the viewer in a real browser (Debian's headless chromium, software WebGL): the
page draws agents of both teams where the episode puts them, and its controls step through it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from hideseek.contract import load_world_config
from hideseek.evaluation.actors import OnnxActor
from hideseek.evaluation.runner import run_episodes, twin_factory
from hideseek.play import SHIPPED_MODELS, load_policies
from hideseek.replay import ReplayRecorder, write_replay
from hideseek.replay.page import ANGLE_SCALE, POSITION_SCALE, assets_dir, three_release
from hideseek.replay.recorder import sees_matrix

from browser import chromium, wait_for

EPISODES = 3
# The viewer's team colours as SwiftShader lights an agent's top face (blue hider, red seeker).
TEAM_RGB = {0: (36, 100, 210), 1: (201, 54, 45)}
COLOR_TOLERANCE = 45


class StateLog:
    """An independent copy of what the recorder should keep: arena 0's state before each step."""

    def __init__(self):
        self.agent_pos, self.obj_yaw, self.rewards = [], [], []
        self._open = True

    def start_round(self, sim, first_episode, seeds):
        self._open = True

    def before_step(self, sim, obs):
        if self._open:
            self.agent_pos.append(sim.state.agent_pos[0].clone().numpy())
            self.obj_yaw.append(sim.state.obj_yaw[0].clone().numpy())

    def after_step(self, sim, out):
        if self._open:
            self.rewards.append(out.reward[0].clone().numpy())
            self._open = not bool(out.truncated[0])


@pytest.fixture(scope="module")
def played():
    """The shipped pair, sampling, 4 episodes with seed 5; the first 3 recorded."""
    torch.set_num_threads(1)
    world = load_world_config("quadrant")
    policies = load_policies(SHIPPED_MODELS / "Hider.onnx", SHIPPED_MODELS / "Seeker.onnx", seed=5)
    recorder, log = ReplayRecorder(EPISODES), StateLog()
    episodes = run_episodes(twin_factory(world), {t: OnnxActor(p) for t, p in policies.items()},
                            EPISODES + 1, seed=5, observers=[recorder, log])
    return world, recorder, log, episodes


def page_data(path: Path) -> dict:
    text = path.read_text()
    m = re.search(r'<script type="application/json" id="replay-data">(.*?)</script>', text, re.S)
    assert m, "no replay-data script in the page"
    return json.loads(m.group(1))


def decode(spec: dict) -> np.ndarray:
    kinds = {"i16": "<i2", "i8": "i1", "u8": "u1", "f32": "<f4"}
    values = np.frombuffer(base64.b64decode(spec["data"]), kinds[spec["dtype"]]).astype(np.float64)
    return values * spec.get("scale", 1)


def test_recorder_keeps_each_episode_as_the_simulator_played_it(played):
    world, recorder, log, episodes = played
    assert [e.index for e in recorder.episodes] == [0, 1, 2]
    assert [e.seed for e in recorder.episodes] == [5, 6, 7]
    first = recorder.episodes[0]
    assert first.steps == world.horizon and len(first.reward) == world.horizon
    assert np.array_equal(np.stack(first.agent_xy), np.stack(log.agent_pos))
    assert np.array_equal(np.stack(first.obj_yaw), np.stack(log.obj_yaw))
    assert np.array_equal(np.stack(first.reward), np.stack(log.rewards))
    for e, stats in zip(recorder.episodes, episodes):
        assert e.stats == stats
    assert first.walls.shape[1] == 4
    assert np.abs(first.walls).max() <= world.floor_size / 2 + world.wall_thickness + 1e-6


def test_who_sees_whom_agrees_with_the_rewards(played):
    """hidden[t - 1] (no seeker saw a hider after step t - 1) is read off frame t's sight matrix,
    which comes from the agents' own observations."""
    world, recorder, _, _ = played
    hiders = world.layout.team_slice("hider")
    seekers = world.layout.team_slice("seeker")
    checked = 0
    for e in recorder.episodes:
        for t in range(1, e.steps):
            seen = bool(e.sees[t][seekers, hiders].any())
            assert e.hidden[t - 1] == (not seen), (e.index, t)
            checked += seen
    assert checked > 0   # some hider is seen somewhere, so the check had both cases


def test_sees_matrix_puts_each_buffer_row_under_its_agent():
    obs_1 = torch.zeros(1, 3, 2, 10)
    obs_1[0, 0, 1, 0] = 1      # agent 0's second row: agent 2
    obs_1[0, 1, 0, 0] = 1      # agent 1's first row: agent 0
    obs_1[0, 2, 1, 0] = 1      # agent 2's second row: agent 1
    expected = torch.tensor([[False, False, True], [True, False, False], [False, True, False]])
    assert torch.equal(sees_matrix(obs_1)[0], expected)


def test_page_is_self_contained_and_within_its_size_budget(played, tmp_path):
    world, recorder, _, _ = played
    teams = {"hider": "Hider.onnx", "seeker": "Seeker.onnx"}
    one = write_replay(tmp_path / "one.html", recorder.episodes[:1], world, "one", teams)
    three = write_replay(tmp_path / "three.html", recorder.episodes, world, "three", teams,
                         "hideseek play --episodes 1 --seed {seed}")
    size_one, size_three = one.stat().st_size, three.stat().st_size
    per_episode = (size_three - size_one) / (EPISODES - 1)
    print(f"replay sizes: one episode {size_one} B, per further 80-step episode {per_episode:.0f} B")
    assert size_one <= 1_500_000 and per_episode <= 50_000
    text = three.read_text()
    # Nothing is loaded from anywhere: no external scripts, styles, images or fetches.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text, re.I)
    assert "fetch(" not in (assets_dir() / "viewer.js").read_text()
    data = page_data(three)
    assert data["format"] == "hideseek-replay/1" and len(data["episodes"]) == EPISODES
    assert data["reproduce"] == "hideseek play --episodes 1 --seed {seed}"
    # The frame arrays decode back to the recording within their quantization.
    for e, ep in zip(recorder.episodes, data["episodes"]):
        assert ep["seed"] == e.seed and ep["stats"] == e.stats and ep["steps"] == e.steps
        xy = decode(ep["frames"]["agent_xy"]).reshape(np.stack(e.agent_xy).shape)
        assert np.abs(xy - np.stack(e.agent_xy)).max() <= POSITION_SCALE / 2 + 1e-6
        yaw = decode(ep["frames"]["agent_yaw"]).reshape(e.steps, -1)
        wrapped = np.angle(np.exp(1j * (yaw - np.stack(e.agent_yaw))))
        assert np.abs(wrapped).max() <= ANGLE_SCALE / 2 + 1e-6
        assert np.array_equal(decode(ep["frames"]["sees"]).reshape(np.stack(e.sees).shape),
                              np.stack(e.sees))
        assert np.array_equal(decode(ep["frames"]["reward"]), np.stack(e.reward).reshape(-1))


def test_text_that_would_end_a_script_is_escaped(played, tmp_path):
    world, recorder, _, _ = played
    title = "a </script><script>alert(1)</script> <!-- title"
    page = write_replay(tmp_path / "t.html", recorder.episodes[:1], world, title,
                        {"hider": "h", "seeker": "s"})
    text = page.read_text()
    assert "<script>alert(1)" not in text
    assert page_data(page)["title"] == title


def test_three_js_is_the_pinned_release_with_its_licence(played, tmp_path):
    release = three_release()
    folder = assets_dir() / "three"
    for name, digest in release["sha256"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert release["version"] == "0.185.0" and release["license"] == "MIT"
    world, recorder, _, _ = played
    text = write_replay(tmp_path / "l.html", recorder.episodes[:1], world, "l",
                        {"hider": "h", "seeker": "s"}).read_text()
    assert "three.js 0.185.0" in text and "Permission is hereby granted, free of charge" in text
    assert (folder / "three.core.min.js").read_text() in text


def _pixel(png: bytes, xy: tuple[float, float], radius: int = 2) -> np.ndarray:
    from PIL import Image
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    x, y = int(round(xy[0])), int(round(xy[1]))
    return np.median(img[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3), 0)


def _team_at(png: bytes, xy) -> int | None:
    rgb = _pixel(png, xy)
    for team, ref in TEAM_RGB.items():
        if np.abs(rgb - np.array(ref)).max() <= COLOR_TOLERANCE:
            return team
    return None


# Whether a page point is off the canvas or under the HUD or the control bar (the HUD lets the
# pointer through, so elementFromPoint alone would not tell).
COVERED = """
const [x, y] = arguments, inside = (el) => { const r = el.getBoundingClientRect();
  return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom; };
return !inside(document.getElementById('view')) || inside(document.getElementById('hud')) ||
       inside(document.getElementById('controls'));
"""


def _check_agents_drawn(driver, png: bytes, episode, frame: int, world) -> dict[int, int]:
    """Agents of the episode at ``frame``, projected by the page's camera, must show their team's
    colour in the screenshot (those not hidden behind the HUD). Returns agents checked per team."""
    height = driver.execute_script("return hideseekReplay.agentHeight")
    checked = {0: 0, 1: 0}
    for a in np.flatnonzero(episode.agent_present):
        team = 0 if a < world.layout.max_hiders else 1
        x, y = episode.agent_xy[frame][a]
        z = episode.agent_z[frame][a] + height
        px, py = driver.execute_script(f"return hideseekReplay.project({x}, {y}, {z})")
        if driver.execute_script(COVERED, px, py):
            continue
        assert _team_at(png, (px, py)) == team, (frame, int(a), _pixel(png, (px, py)).tolist())
        checked[team] += 1
    return checked


def test_the_viewer_draws_the_episode_in_a_browser(played, tmp_path):
    world, recorder, _, _ = played
    page = write_replay(tmp_path / "replay.html", recorder.episodes, world, "browser test",
                        {"hider": "Hider.onnx", "seeker": "Seeker.onnx"})
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium() as driver:
        driver.get(page.as_uri())
        wait_for(driver, "window.hideseekReplay && window.hideseekReplay.ready")
        assert driver.execute_script("return hideseekReplay.episodes") == EPISODES
        driver.save_screenshot(str(shots / "orbit.png"))
        driver.execute_script("hideseekReplay.setCamera('top')")
        seen = {0: 0, 1: 0}
        for episode, frame in ((0, 0), (0, 45), (2, 70)):
            driver.execute_script(f"hideseekReplay.setEpisode({episode}); "
                                  f"hideseekReplay.setFrame({frame})")
            png = driver.get_screenshot_as_png()
            (shots / f"top_{episode}_{frame}.png").write_bytes(png)
            checked = _check_agents_drawn(driver, png, recorder.episodes[episode], frame, world)
            for team in seen:
                seen[team] += checked[team]
            # Not blank: the floor and many colours.
            from PIL import Image
            img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
            assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200
            assert driver.execute_script("return hideseekReplay.state().frame") == frame
        assert seen[0] >= 2 and seen[1] >= 2, seen
        # The controls: the timeline steps with the keyboard, play advances, the episode list.
        from selenium.webdriver.common.keys import Keys
        driver.execute_script("hideseekReplay.setFrame(10)")
        driver.find_element("id", "timeline").send_keys(Keys.ARROW_RIGHT)
        assert driver.execute_script("return hideseekReplay.state().frame") == 11
        assert driver.find_element("id", "step-label").text == "step 11 / 79"
        driver.find_element("id", "play").click()
        wait_for(driver, "hideseekReplay.state().frame >= 14", timeout=10)
        driver.find_element("id", "play").click()
        assert not driver.execute_script("return hideseekReplay.state().playing")
        from selenium.webdriver.support.ui import Select
        Select(driver.find_element("id", "episode")).select_by_index(1)
        assert driver.execute_script("return hideseekReplay.state().episode") == 1
        assert f"seed {recorder.episodes[1].seed}" in driver.find_element("id", "hud-episode").text
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    print(f"screenshots: {shots}")
