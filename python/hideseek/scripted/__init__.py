"""Scripted teams: privileged reference players that read the simulator's state. They are
yardsticks for evaluation and dashboards, never a source of training data."""

from .sealer import RoomSealer

__all__ = ["RoomSealer"]
