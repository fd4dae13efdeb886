"""Top-down pictures of one arena (PettingZoo ``render_mode="rgb_array"``, GIFs, videos)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from torch import Tensor

from ..contract import WorldConfig
from .geometry import box_corners
from .state import SimState

FLOOR = (236, 232, 220)
WALL = (70, 70, 80)
TEAM = {0: (40, 110, 230), 1: (220, 60, 50)}            # hiders blue, seekers red
CONE = {0: (40, 110, 230, 40), 1: (220, 60, 50, 40)}
OBJECT = {"box": (200, 160, 90), "ramp": (120, 170, 90)}
LOCKED = {0: (110, 150, 235), 1: (235, 120, 110)}         # tinted by the locking team


def render_arena(s: SimState, seen_objs: Tensor, arena: int, world: WorldConfig,
                 size: int = 400) -> np.ndarray:
    lay = world.layout
    margin = 0.3
    extent = world.floor_size / 2 + margin
    scale = size / (2 * extent)

    def px(x: float, y: float) -> tuple[float, float]:
        return ((x + extent) * scale, (extent - y) * scale)   # y up in the arena, down in images

    g = {k: v[arena].detach().cpu().numpy() for k, v in s.tensors().items()}
    img = Image.new("RGB", (size, size), (200, 200, 200))
    draw = ImageDraw.Draw(img, "RGBA")
    h = world.floor_size / 2
    draw.rectangle([px(-h, h), px(h, -h)], fill=FLOOR)
    for a, b in zip(g["wall_a"], g["wall_b"]):
        if abs(a[0]) < 100:
            draw.line([px(*a), px(*b)], fill=WALL, width=max(int(world.wall_thickness * scale), 2))
    import torch
    yaw = torch.as_tensor(g["obj_yaw"])
    corners = box_corners(torch.as_tensor(g["obj_pos"]), torch.cos(yaw), torch.sin(yaw),
                          torch.as_tensor(g["obj_half"])).numpy()
    for o in range(corners.shape[0]):
        if not g["obj_present"][o]:
            continue
        kind = "box" if o < lay.max_boxes else "ramp"
        team = int(g["obj_locked_team"][o])
        fill = LOCKED[team] if team >= 0 else OBJECT[kind]
        draw.polygon([px(*c) for c in corners[o]], fill=fill, outline=(40, 40, 40))
        if kind == "ramp":   # mark the high end (local +x edge: corners 0 and 3)
            draw.line([px(*corners[o][0]), px(*corners[o][3])], fill=(30, 80, 30), width=3)
        if g["obj_held_by"][o] >= 0:
            cx, cy = g["obj_pos"][o]
            draw.ellipse([px(cx - 0.05, cy + 0.05), px(cx + 0.05, cy - 0.05)], fill=(0, 0, 0))
    half_cone = math.radians(world.vision_cone_deg) / 2
    r = world.agent_radius
    for a in range(lay.max_agents):
        if not g["agent_present"][a]:
            continue
        team = 0 if a < lay.max_hiders else 1
        x, y = g["agent_pos"][a]
        yaw = float(g["agent_yaw"][a])
        reach = 1.2
        pts = [px(x, y)] + [px(x + reach * math.cos(yaw + t), y + reach * math.sin(yaw + t))
                            for t in np.linspace(-half_cone, half_cone, 12)]
        draw.polygon(pts, fill=CONE[team])
        raised = g["agent_z"][a] >= world.wall_height - 1e-3
        draw.ellipse([px(x - r, y + r), px(x + r, y - r)], fill=TEAM[team],
                     outline=(255, 255, 255) if raised else (20, 20, 20), width=3 if raised else 1)
        draw.line([px(x, y), px(x + r * math.cos(yaw), y + r * math.sin(yaw))], fill=(0, 0, 0), width=2)
    return np.asarray(img)
