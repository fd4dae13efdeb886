"""PettingZoo ``render_mode="human"`` for the twin env: a real pygame window on a virtual X
screen (Debian's Xvfb, installed by scripts/setup.sh), read back pixel for pixel."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import hideseek
from hideseek.contract import NOOP_ACTION


@pytest.fixture
def display(monkeypatch) -> str:
    """A fresh Xvfb screen for this test, DISPLAY pointing at it."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb missing: bash scripts/setup.sh installs Debian's xvfb")
    import importlib.util
    if importlib.util.find_spec("pygame") is None:
        pytest.fail("pygame missing: the human extra (bash scripts/setup.sh installs it)")
    number = 90 + os.getpid() % 100
    while Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "800x700x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Xvfb :{number} did not start")
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", f":{number}")
        monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _screen(display: str) -> np.ndarray:
    from PIL import ImageGrab
    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(int)


def _window(screen: np.ndarray) -> np.ndarray:
    """The window's pixels: the bounding box of what is not the bare (black) root window."""
    ys, xs = np.nonzero(screen.max(-1))
    assert len(ys), "no window on the screen"
    return screen[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def test_human_mode_shows_each_step_in_a_window(display):
    env = hideseek.make_env("quadrant", horizon=6, render_mode="human")
    size = env.HUMAN_WINDOW_SIZE
    try:
        assert "human" in env.metadata["render_modes"]
        env.reset(seed=3)
        assert env.render() is None          # human mode draws, it returns nothing
        noop = np.array(NOOP_ACTION)
        for _ in range(3):
            env.step({a: noop for a in env.agents})
        # The window shows exactly the twin's current picture.
        expected = env.sim.render(0, size=size).astype(int)
        shown = _window(_screen(display))
        assert shown.shape == expected.shape
        assert np.abs(shown - expected).max() <= 2
        assert len(np.unique(shown.reshape(-1, 3), axis=0)) > 10   # a picture, not a colour
        # The last step does not draw the next episode's layout the twin already holds.
        while env.agents:
            before = _screen(display)
            env.step({a: noop for a in env.agents})
        assert np.array_equal(_screen(display), before)
    finally:
        env.close()
    assert _screen(display).max() == 0   # closed: the bare root window again


def test_bad_render_mode_names_the_choices():
    with pytest.raises(ValueError, match="'human' or 'rgb_array'"):
        hideseek.make_env("quadrant", render_mode="window")
