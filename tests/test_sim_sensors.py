"""The twin's box tests for sight and lidar against their definition: a line is blocked by a box
or ramp when it crosses one of its four edges, and a lidar ray measures the nearest crossing.
The sensors test only the two faces a line can meet first (``hideseek.sim.sensors``); here they
meet random lines from outside, along and inside boxes of random size and yaw."""

import math

import torch

from hideseek.sim.geometry import CORNER_SIGNS, rotate_xy, segments_intersect_xy, to_local_xy
from hideseek.sim.sensors import _ray_to_box, _segment_meets_box

COUNT = 20_000
FAR = 6.0


def _random_boxes_and_points(seed: int):
    g = torch.Generator().manual_seed(seed)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(COUNT, generator=g)  # noqa: E731
    cx, cy, yaw = u(-1, 1), u(-1, 1), u(-math.pi, math.pi)
    hx, hy = u(0.1, 0.8), u(0.1, 0.8)
    # Starts within 1.2 m of the centre: about a sixth of them inside the box.
    px, py = cx + u(-1.2, 1.2), cy + u(-1.2, 1.2)
    return cx, cy, torch.cos(yaw), torch.sin(yaw), hx, hy, px, py, g


def _edges(cx, cy, cos, sin, hx, hy):
    """The four edges (start x, y, end x, y), corner k -> k + 1."""
    corners = [tuple(c + r for c, r in zip((cx, cy), rotate_xy(sx * hx, sy * hy, cos, sin)))
               for sx, sy in CORNER_SIGNS]
    return [(*corners[k], *corners[(k + 1) % 4]) for k in range(4)]


def test_two_face_sight_test_equals_crossing_any_edge():
    cx, cy, cos, sin, hx, hy, px, py, g = _random_boxes_and_points(0)
    qx, qy = px + 3 * torch.randn(COUNT, generator=g), py + 3 * torch.randn(COUNT, generator=g)
    by_edges = torch.zeros(COUNT, dtype=torch.bool)
    for edge in _edges(cx, cy, cos, sin, hx, hy):
        by_edges |= segments_intersect_xy(px, py, qx, qy, *edge)
    plx, ply = to_local_xy(px, py, cx, cy, cos, sin)
    qlx, qly = to_local_xy(qx, qy, cx, cy, cos, sin)
    by_faces = _segment_meets_box(plx, ply, qlx, qly, hx, hy)
    inside = (plx.abs() < hx) & (ply.abs() < hy)
    assert inside.sum() > COUNT // 20 and by_edges.float().mean() > 0.2   # both cases are met
    assert torch.equal(by_faces, by_edges)


def test_two_face_ray_distance_equals_the_nearest_edge_crossing():
    cx, cy, cos, sin, hx, hy, px, py, g = _random_boxes_and_points(1)
    angle = 2 * math.pi * torch.rand(COUNT, generator=g)
    dx, dy = torch.cos(angle), torch.sin(angle)
    nearest = torch.full((COUNT,), FAR)
    for ax, ay, bx, by in _edges(cx, cy, cos, sin, hx, hy):
        # Ray p + t d against edge a + s (b - a): Cramer's rule.
        ex, ey = bx - ax, by - ay
        den = dx * ey - dy * ex
        wx, wy = ax - px, ay - py
        t, s = (wx * ey - wy * ex) / den, (wx * dy - wy * dx) / den
        hit = (den.abs() > 1e-9) & (t >= 0) & (s >= 0) & (s <= 1)
        nearest = torch.minimum(nearest, torch.where(hit, t, torch.full_like(t, FAR)))
    plx, ply = to_local_xy(px, py, cx, cy, cos, sin)
    dlx, dly = cos * dx + sin * dy, cos * dy - sin * dx
    by_faces = _ray_to_box(plx, ply, dlx, dly, hx, hy, FAR)
    assert (nearest < FAR).float().mean() > 0.3   # a third of the rays hit
    torch.testing.assert_close(by_faces, nearest, atol=1e-4, rtol=0)
