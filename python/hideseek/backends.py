"""Which engine steps the world: the twin (``hideseek.sim.TwinSim``) or PhysX
(``hideseek.physx.PhysxSim``, the optional ``physx`` extra). Both have the same batched API, so
everything that plays the world (the PettingZoo env, play/eval, the twin launcher, the trainer)
picks one by name here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .contract import WorldConfig

if TYPE_CHECKING:
    import torch

BACKENDS: tuple[str, ...] = ("twin", "physx")


def check_backend(backend: str) -> str:
    """``backend`` if it names an engine that can run here; else a one-line error: ValueError
    for an unknown name, ``hideseek.physx.PhysxUnavailable`` (naming the extra) for PhysX
    without SAPIEN."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "physx":
        from .physx import require
        require()
    return backend


def make_simulator(backend: str, world: WorldConfig, num_arenas: int,
                   device: "str | torch.device" = "cpu", seed: int = 0,
                   compile: bool = False) -> Any:
    """A simulator of ``num_arenas`` arenas of ``world`` on ``backend``; arena k plays seed
    ``seed + k``. ``compile``: the twin's step (or PhysX's sensing) under ``torch.compile``."""
    check_backend(backend)
    if backend == "physx":
        from .physx.sim import PhysxSim
        return PhysxSim(world, num_arenas, device=device, seed=seed, compile=compile)
    from .sim import TwinSim
    return TwinSim(world, num_arenas, device=device, seed=seed, compile=compile)


def simulator_factory(backend: str, world: WorldConfig, device: "str | torch.device" = "cpu"
                      ) -> Callable[[int, int], Any]:
    """``(num_arenas, seed) -> simulator`` on ``backend`` (``hideseek.evaluation.runner``'s
    factory); checks the backend now, so a missing extra is said before anything runs."""
    check_backend(backend)

    def make(num_arenas: int, seed: int) -> Any:
        return make_simulator(backend, world, num_arenas, device=device, seed=seed)
    return make
