"""2-D geometry kernels shared by physics, sensors, rules and layouts.

Two flavours. The ``[..., 2]`` functions (``rotate``, ``closest_on_segment``, ...) serve the
once-per-episode code (layouts, rendering). The hot path uses the structure-of-arrays forms
(``*_xy``): x and y are separate tensors of any broadcastable shape (arena index last), so every
kernel is a plain elementwise loop that the compiler vectorises over arenas.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-9

# Box corners, counter-clockwise, as signs of the half extents (local x, local y).
CORNER_SIGNS = ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))


def rotate(v: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate vectors v [..., 2] by the angle whose cos/sin are given ([...])."""
    return torch.stack([cos * v[..., 0] - sin * v[..., 1], sin * v[..., 0] + cos * v[..., 1]], -1)


def closest_on_segment(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    ab = b - a
    t = ((p - a) * ab).sum(-1) / ((ab * ab).sum(-1) + EPS)
    return a + t.clamp(0.0, 1.0)[..., None] * ab


def point_segment_distance(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return (p - closest_on_segment(p, a, b)).norm(dim=-1)


def box_corners(centre: Tensor, cos: Tensor, sin: Tensor, half: Tensor) -> Tensor:
    """Corners [..., 4, 2] of oriented rectangles, counter-clockwise."""
    x, y = box_corners_xy(centre[..., 0], centre[..., 1], cos, sin, half[..., 0], half[..., 1])
    return torch.stack([x, y], -1).movedim(0, -2)


def chunks(size: int) -> list[slice]:
    """How vision and lidar walk the occluders: all at once in eager mode (few, large kernels),
    one at a time under ``torch.compile``, where each is an elementwise update of [.., N]
    tensors that fuses into one vectorised loop over arenas (Inductor materialises a reduction
    over an [A, R, S, N] tensor in memory instead: 3x slower). Physics keeps its pair tensors:
    walking walls and objects one at a time made its graph compile for minutes and run slower."""
    if torch.compiler.is_compiling():
        return [slice(k, k + 1) for k in range(size)]
    return [slice(0, size)]


# ---------------------------------------------------------------- structure of arrays
def rotate_xy(x: Tensor, y: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor]:
    return cos * x - sin * y, sin * x + cos * y


def to_local_xy(px: Tensor, py: Tensor, cx: Tensor, cy: Tensor, cos: Tensor, sin: Tensor
                ) -> tuple[Tensor, Tensor]:
    """Points in the frame of a body at (cx, cy) whose yaw has this cos/sin. (Callers compute
    cos/sin once per body: transcendentals per pair dominate otherwise.)"""
    dx, dy = px - cx, py - cy
    return cos * dx + sin * dy, cos * dy - sin * dx


def norm_xy(x: Tensor, y: Tensor) -> Tensor:
    return torch.sqrt(x * x + y * y)


def segment_distance_xy(px: Tensor, py: Tensor, ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor
                        ) -> Tensor:
    """Distance from points to segments a->b."""
    sx, sy = bx - ax, by - ay
    t = (((px - ax) * sx + (py - ay) * sy) / (sx * sx + sy * sy + EPS)).clamp(0.0, 1.0)
    return norm_xy(px - (ax + t * sx), py - (ay + t * sy))


def box_corners_xy(cx: Tensor, cy: Tensor, cos: Tensor, sin: Tensor, hx: Tensor, hy: Tensor
                   ) -> tuple[Tensor, Tensor]:
    """Corners of oriented rectangles, counter-clockwise: x and y [4, ...]."""
    xs, ys = [], []
    for sx, sy in CORNER_SIGNS:
        rx, ry = rotate_xy(sx * hx, sy * hy, cos, sin)
        xs.append(cx + rx)
        ys.append(cy + ry)
    return torch.stack(xs), torch.stack(ys)


def point_box_distance_xy(px: Tensor, py: Tensor, cx: Tensor, cy: Tensor, cos: Tensor,
                          sin: Tensor, hx: Tensor, hy: Tensor) -> Tensor:
    """Distance from points to the surface of oriented rectangles (0 inside)."""
    lx, ly = to_local_xy(px, py, cx, cy, cos, sin)
    return norm_xy((lx.abs() - hx).clamp(min=0.0), (ly.abs() - hy).clamp(min=0.0))


def segments_intersect_xy(px: Tensor, py: Tensor, qx: Tensor, qy: Tensor, ax: Tensor,
                          ay: Tensor, bx: Tensor, by: Tensor) -> Tensor:
    """Whether segments p->q and a->b cross (proper or touching), broadcasting."""
    dx, dy, ex, ey = qx - px, qy - py, bx - ax, by - ay
    den = dx * ey - dy * ex
    wx, wy = ax - px, ay - py
    t_num = wx * ey - wy * ex
    u_num = wx * dy - wy * dx
    # Multiply by sign(den) instead of dividing: cheaper, and parallel segments (den = 0)
    # simply never count as crossing.
    s = torch.sign(den)
    t_s, u_s, den_abs = t_num * s, u_num * s, den.abs()
    return (den_abs > EPS) & (t_s >= 0) & (t_s <= den_abs) & (u_s >= 0) & (u_s <= den_abs)



def box_gap_xy(ax: Tensor, ay: Tensor, acos: Tensor, asin: Tensor, ahx: Tensor, ahy: Tensor,
               bx: Tensor, by: Tensor, bcos: Tensor, bsin: Tensor, bhx: Tensor, bhy: Tensor
               ) -> Tensor:
    """Distance between oriented rectangles A and B (0 where they overlap), broadcasting. Apart,
    the nearest points include a corner of one of them; overlapping, no axis of either
    separates their projections."""
    cax, cay = box_corners_xy(ax, ay, acos, asin, ahx, ahy)
    cbx, cby = box_corners_xy(bx, by, bcos, bsin, bhx, bhy)
    gap = torch.minimum(point_box_distance_xy(cax, cay, bx, by, bcos, bsin, bhx, bhy).amin(0),
                        point_box_distance_xy(cbx, cby, ax, ay, acos, asin, ahx, ahy).amin(0))
    dx, dy = bx - ax, by - ay
    overlap = torch.ones_like(gap, dtype=torch.bool)
    cd = (acos * bcos + asin * bsin).abs()            # |cos| and |sin| of the relative yaw
    sd = (asin * bcos - acos * bsin).abs()
    for ux, uy, reach in ((acos, asin, ahx + bhx * cd + bhy * sd),
                          (-asin, acos, ahy + bhx * sd + bhy * cd),
                          (bcos, bsin, bhx + ahx * cd + ahy * sd),
                          (-bsin, bcos, bhy + ahx * sd + ahy * cd)):
        overlap = overlap & ((dx * ux + dy * uy).abs() <= reach)
    return torch.where(overlap, torch.zeros_like(gap), gap)
