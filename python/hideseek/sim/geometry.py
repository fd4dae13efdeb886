"""2-D geometry kernels shared by physics and sensors. All functions broadcast over leading
dimensions, so one call covers every arena, agent and entity at once."""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-9


def cross(a: Tensor, b: Tensor) -> Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def rotate(v: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate vectors v [..., 2] by the angle whose cos/sin are given ([...])."""
    return torch.stack([cos * v[..., 0] - sin * v[..., 1], sin * v[..., 0] + cos * v[..., 1]], -1)


def to_local(p: Tensor, centre: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Points p [..., 2] in the frame of a body at centre [..., 2] whose yaw has this cos/sin.
    (Callers compute cos/sin once per body: transcendentals per pair dominate otherwise.)"""
    return rotate(p - centre, cos, -sin)


def closest_on_segment(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    ab = b - a
    t = ((p - a) * ab).sum(-1) / ((ab * ab).sum(-1) + EPS)
    return a + t.clamp(0.0, 1.0)[..., None] * ab


def point_segment_distance(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return (p - closest_on_segment(p, a, b)).norm(dim=-1)


def box_corners(centre: Tensor, cos: Tensor, sin: Tensor, half: Tensor) -> Tensor:
    """Corners [..., 4, 2] of oriented rectangles, counter-clockwise."""
    signs = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]],
                         device=centre.device, dtype=centre.dtype)
    local = signs * half[..., None, :]
    return centre[..., None, :] + rotate(local, cos[..., None], sin[..., None])


def box_edges(centre: Tensor, cos: Tensor, sin: Tensor, half: Tensor) -> tuple[Tensor, Tensor]:
    """Edges of oriented rectangles as segments: starts and ends [..., 4, 2]."""
    corners = box_corners(centre, cos, sin, half)
    return corners, corners.roll(-1, dims=-2)


def point_box_distance(p: Tensor, centre: Tensor, cos: Tensor, sin: Tensor, half: Tensor
                       ) -> Tensor:
    """Distance from points to the surface of oriented rectangles (0 inside)."""
    local = to_local(p, centre, cos, sin)
    outside = (local.abs() - half).clamp(min=0.0)
    return outside.norm(dim=-1)


def segments_intersect(p: Tensor, q: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Whether segments p->q and a->b cross (proper or touching), broadcasting."""
    d, e = q - p, b - a
    den = cross(d, e)
    w = a - p
    t_num = cross(w, e)
    u_num = cross(w, d)
    # Multiply by sign(den) instead of dividing: cheaper, and parallel segments (den = 0)
    # simply never count as crossing.
    s = torch.sign(den)
    t_s, u_s, den_abs = t_num * s, u_num * s, den.abs()
    return (den_abs > EPS) & (t_s >= 0) & (t_s <= den_abs) & (u_s >= 0) & (u_s <= den_abs)
