"""Write recorded episodes as ONE self-contained HTML file: the episodes as JSON (frame arrays
quantized and base64-encoded), the viewer (``assets/viewer.js``) and three.js's release build
(``assets/three/``, a pinned npm release carried as package data with its MIT licence; see
``three.json``). Nothing is fetched when the page opens: it works from a file, with no server.

Sizes: three.js is about 750 KB; an 80-step quadrant episode adds about 10 KB.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..contract import WorldConfig
from .recorder import EpisodeRecording

FORMAT = "hideseek-replay/1"
SUFFIX = ".html"
# Quantization of the frame arrays: millimetres and 1e-4 rad fit int16 over the arena (+-32 m).
POSITION_SCALE = 1e-3
ANGLE_SCALE = 1e-4
_INT16 = np.iinfo(np.int16)


def assets_dir():
    return resources.files("hideseek.replay") / "assets"


def three_release() -> dict:
    """Which three.js the viewer embeds (``assets/three/three.json``)."""
    return json.loads((assets_dir() / "three" / "three.json").read_text())


def _array(values: np.ndarray, dtype: str, scale: float | None = None) -> dict:
    """A little-endian typed array for the viewer: ``{"dtype", "data" (base64)[, "scale"]}``."""
    kinds = {"i16": "<i2", "i8": "i1", "u8": "u1", "f32": "<f4"}
    a = np.asarray(values)
    if scale is not None:
        a = np.clip(np.rint(a / scale), _INT16.min, _INT16.max)
    out = {"dtype": dtype, "data": base64.b64encode(a.astype(kinds[dtype]).tobytes()).decode("ascii")}
    if scale is not None:
        out["scale"] = scale
    return out


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles to [-pi, pi): held objects carry their holder's unwrapped yaw."""
    return np.remainder(angle + np.pi, 2 * np.pi) - np.pi


def episode_json(e: EpisodeRecording, world: WorldConfig) -> dict:
    if e.steps == 0 or e.stats is None:
        raise ValueError(f"episode {e.index} (seed {e.seed}): recorded {e.steps} steps and "
                         f"{'no' if e.stats is None else 'its'} statistics; expected a whole episode")
    lay = world.layout
    frames = {
        "agent_xy": _array(np.stack(e.agent_xy), "i16", POSITION_SCALE),
        "agent_z": _array(np.stack(e.agent_z), "i16", POSITION_SCALE),
        "agent_yaw": _array(_wrap(np.stack(e.agent_yaw)), "i16", ANGLE_SCALE),
        "obj_xy": _array(np.stack(e.obj_xy), "i16", POSITION_SCALE),
        "obj_yaw": _array(_wrap(np.stack(e.obj_yaw)), "i16", ANGLE_SCALE),
        "held_by": _array(np.stack(e.held_by), "i8"),
        "locked": _array(np.stack(e.locked), "i8"),
        "sees": _array(np.stack(e.sees), "u8"),
        "reward": _array(np.stack(e.reward), "f32"),
        "hidden": _array(np.array(e.hidden), "u8"),
    }
    return {
        "index": e.index, "seed": e.seed, "steps": e.steps, "stats": e.stats, "outcome": e.outcome,
        "agents": {"present": e.agent_present.astype(bool).tolist(),
                   "team": [0 if a < lay.max_hiders else 1 for a in range(lay.max_agents)]},
        "objects": {"present": e.obj_present.astype(bool).tolist(),
                    "kind": ["box" if o < lay.max_boxes else "ramp"
                             for o in range(lay.max_boxes + lay.max_ramps)],
                    "half": np.round(e.obj_half, 4).tolist()},
        "walls": np.round(e.walls, 4).tolist(),
        "doors": np.round(e.doors, 4).tolist(),
        "frames": frames,
    }


def replay_data(episodes: Sequence[EpisodeRecording], world: WorldConfig, title: str,
                teams: Mapping[str, str], reproduce: str | None = None) -> dict:
    """The page's JSON. ``teams``: who played each team (shown); ``reproduce``: a command with
    ``{seed}`` that plays one episode again."""
    if not episodes:
        raise ValueError("no episodes to write: record at least one")
    return {
        "format": FORMAT, "title": title, "teams": dict(teams), "reproduce": reproduce,
        "world": {"scenario": world.scenario, "floor_size": world.floor_size,
                  "wall_height": world.wall_height, "wall_thickness": world.wall_thickness,
                  "agent_radius": world.agent_radius, "box_size": world.box_size,
                  "ramp_height": world.ramp_height, "vision_cone_deg": world.vision_cone_deg,
                  "horizon": world.horizon, "prep_steps": world.prep_steps, "dt": world.dt},
        "episodes": [episode_json(e, world) for e in episodes],
    }


def _script_text(text: str, what: str) -> str:
    """Text placed inside a <script> element must not end it early or open an HTML comment."""
    for bad in ("</script", "<!--"):
        if bad in text.lower():
            raise ValueError(f"{what}: contains {bad!r}, which would break the page's <script>")
    return text


def render_page(data: dict) -> str:
    """The HTML document: the template with the data, the viewer and three.js filled in."""
    assets = assets_dir()
    three = assets / "three"
    release = three_release()
    # The JSON sits in a <script>: escaping "<" keeps "</script>" and "<!--" out of it.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    fills = {
        "TITLE": html.escape(data["title"]),
        "THREE_VERSION": html.escape(release["version"]),
        "THREE_LICENSE": (three / "LICENSE").read_text().replace("--", "- -"),
        "DATA": payload,
        "THREE_CORE": _script_text((three / "three.core.min.js").read_text(), "three.core.min.js"),
        "THREE_MODULE": _script_text((three / "three.module.min.js").read_text(), "three.module.min.js"),
        "VIEWER_JS": _script_text((assets / "viewer.js").read_text(), "viewer.js"),
    }
    template = (assets / "viewer.html").read_text()
    # One pass, so text filled in is never searched for placeholders itself.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: fills[m.group(1)], template)


def write_replay(path: str | Path, episodes: Sequence[EpisodeRecording], world: WorldConfig,
                 title: str, teams: Mapping[str, str], reproduce: str | None = None) -> Path:
    path = Path(path)
    page = render_page(replay_data(episodes, world, title, teams, reproduce))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
