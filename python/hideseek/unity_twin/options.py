"""Command line of the twin player: what a Unity Linux player accepts, plus hidden twin flags.

Unity reads ``--mlagents-port``, ``-logFile``, ``-nographics`` and ``-batchmode`` and ignores
everything else; so does the twin. Twin-only flags start with ``--twin-``:

``--twin-arena NAME|PATH``   base world config (default ``quadrant``); EnvironmentParameters
                             override it at the next reset.
``--twin-arenas K``          arenas when neither the handshake's ``num_areas`` (> 1) nor the
                             ``num_arenas`` parameter says otherwise.
``--twin-device DEV``        torch device of the simulator (default cpu).
``--twin-backend NAME``      the engine behind the protocol: ``twin`` (default) or ``physx`` (the
                             world on PhysX 5, ``hideseek.physx``; needs the physx extra).
``--twin-threads N``         torch CPU threads (default 1: several players usually share the
                             machine, and one arena batch is small).
``--twin-fault KIND@STEP``   fault injection for tests: ``crash``, ``hang``, ``nan`` or ``garbage``
                             at the STEP-th STEP command this process receives (1-based).
``--twin-fault-once PATH``   fire the fault only if PATH does not exist, creating it when firing
                             (so a restarted worker runs clean).
``--twin-step-sleep-ms MS``  sleep MS milliseconds (a float >= 0) before answering each STEP, to
                             mimic what a Unity step costs (rendering, PhysX) when measuring how
                             a trainer overlaps several workers. Default 0.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..backends import BACKENDS

FAULT_KINDS = ("crash", "hang", "nan", "garbage")


@dataclass(frozen=True)
class Fault:
    kind: str
    step: int
    once_path: Path | None = None


@dataclass(frozen=True)
class PlayerOptions:
    port: int | None
    log_file: Path | None
    arena: str
    arenas: int
    device: str
    threads: int
    fault: Fault | None
    argv: tuple[str, ...]
    step_sleep_ms: float = 0.0
    backend: str = "twin"


def parse_fault(text: str) -> tuple[str, int]:
    kind, sep, step = text.partition("@")
    if not sep or kind not in FAULT_KINDS or not step.isdigit() or int(step) < 1:
        raise ValueError(f"--twin-fault {text!r}: expected KIND@STEP with KIND one of "
                         f"{', '.join(FAULT_KINDS)} and STEP >= 1")
    return kind, int(step)


def parse_args(argv: list[str]) -> PlayerOptions:
    """Unknown arguments are ignored, as a Unity player does. Unity's own single-dash flags are
    matched case-insensitively (``-logfile`` works too)."""
    normalized = ["-logFile" if a.lower() == "-logfile" else a for a in argv]
    p = argparse.ArgumentParser(prog="HideAndSeekTwin", add_help=False, allow_abbrev=False)
    p.add_argument("--mlagents-port", type=int, default=None)
    p.add_argument("-logFile", default=None)
    p.add_argument("-nographics", action="store_true")
    p.add_argument("-batchmode", action="store_true")
    p.add_argument("--twin-arena", default="quadrant")
    p.add_argument("--twin-arenas", type=int, default=1)
    p.add_argument("--twin-device", default="cpu")
    p.add_argument("--twin-backend", default="twin")
    p.add_argument("--twin-threads", type=int, default=1)
    p.add_argument("--twin-fault", default=None)
    p.add_argument("--twin-fault-once", default=None)
    p.add_argument("--twin-step-sleep-ms", type=float, default=0.0)
    ns, _unknown = p.parse_known_args(normalized)
    fault = None
    if ns.twin_fault:
        kind, step = parse_fault(ns.twin_fault)
        fault = Fault(kind, step, Path(ns.twin_fault_once) if ns.twin_fault_once else None)
    if ns.twin_arenas < 1:
        raise ValueError(f"--twin-arenas {ns.twin_arenas}: expected at least 1")
    if ns.twin_threads < 1:
        raise ValueError(f"--twin-threads {ns.twin_threads}: expected at least 1")
    if not ns.twin_step_sleep_ms >= 0:  # also rejects NaN
        raise ValueError(f"--twin-step-sleep-ms {ns.twin_step_sleep_ms}: expected a number of "
                         "milliseconds >= 0")
    if ns.twin_backend not in BACKENDS:
        raise ValueError(f"--twin-backend {ns.twin_backend!r}: expected one of "
                         f"{', '.join(BACKENDS)}")
    if ns.twin_backend == "physx" and ns.twin_device != "cpu":
        raise ValueError(f"--twin-device {ns.twin_device}: expected cpu with --twin-backend physx "
                         "(PhysX runs on the CPU)")
    # "-logFile -" means stdout in Unity; the twin treats it as "no file".
    log_file = None if ns.logFile in (None, "-") else Path(ns.logFile)
    return PlayerOptions(port=ns.mlagents_port, log_file=log_file, arena=ns.twin_arena,
                         arenas=ns.twin_arenas, device=ns.twin_device,
                         threads=ns.twin_threads, fault=fault,
                         argv=tuple(argv), step_sleep_ms=ns.twin_step_sleep_ms,
                         backend=ns.twin_backend)
