"""The contract world on PhysX 5 (through SAPIEN), built the way the Unity scene builds it.

``PhysxSim`` has ``TwinSim``'s API; observations, vision, rewards and statistics are the twin's
own pure functions applied to PhysX's state, so any difference from the twin is physics alone.
It needs the optional ``physx`` extra (``pip install -e '.[physx]'``, SAPIEN 3.0.3);
:func:`require` names it in one line when it is missing. See docs/physx.md.
"""

from __future__ import annotations

import importlib.util

EXTRA_HINT = "pip install -e '.[physx]'"


class PhysxUnavailable(RuntimeError):
    """The ``physx`` extra (SAPIEN) is not installed."""


def available() -> bool:
    return importlib.util.find_spec("sapien") is not None


def require() -> None:
    """Raise :class:`PhysxUnavailable` with one line naming the extra when SAPIEN is missing."""
    if not available():
        raise PhysxUnavailable(f"the PhysX backend needs the physx extra: {EXTRA_HINT}")


def __getattr__(name: str):
    # PhysxSim imports SAPIEN; importing this package must work without it (for require()).
    if name == "PhysxSim":
        require()
        from .sim import PhysxSim
        return PhysxSim
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EXTRA_HINT", "PhysxSim", "PhysxUnavailable", "available", "require"]
