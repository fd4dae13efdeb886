"""Rule by rule, the twin against PhysX: every probe of ``hideseek.physx.probes`` run in both
engines on the same hand-built scene, printed as the markdown table of docs/physx.md.

    .venv/bin/pip install -e '.[physx]'
    .venv/bin/python benchmarks/physx_rules.py [--arena quadrant] [--turning composite] [probe ...]

Columns: the probe, its unit, the twin's figure, PhysX's, and WORLD.md's where it states one.
The tests (tests/test_physx_rules.py) hold PhysX's figures to the tolerances stated there.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from hideseek.contract import load_world_config
from hideseek.physx import require
from hideseek.physx.probes import PROBES
from hideseek.sim import TwinSim

# What each probe measures, in its table row: (rule, unit, WORLD.md's figure or "").
ROWS = {
    "top_speed_axis": ("top speed along an axis", "m/s", "about 8"),
    "top_speed_diagonal": ("top speed on the diagonal", "m/s", "about 12"),
    "turn_180_steps": ("turning 180 degrees from rest", "steps", "about 5 (9 rad/s)"),
    "push_speed": ("pushing a box, box speed", "m/s", "about 7"),
    "box_stop_steps": ("a box released at 7 m/s stops after", "steps", "about 9 (0.7 s)"),
    "carry_speed": ("running while holding a box", "m/s", ""),
    "carry_offset_drift": ("held box, drift from its grab offset", "m", "0 (keeps its offset)"),
    "carry_turn": ("holder's turn while carrying a box sideways", "rad", ""),
    "carry_turn_180_steps": ("turning 180 degrees while holding a box", "steps", ""),
    "ramp_climb_steps": ("climbing a ramp to the top height", "steps", "climbs"),
    "fall_steps": ("falling from a box top to the floor", "steps", "drops"),
    "wall_top_z": ("walking along a wall top, lowest feet", "m", "0.5 (walkable)"),
    "rider_lag": ("rider on a pushed box, off its place", "m", "0 (carried)"),
    "rider_slip": ("rider, off its place once the box stopped", "m", "0 (carried)"),
    "locked_box_drift": ("locked box pushed at full force, moved", "m", "0"),
    "wall_crossed": ("agent at top speed into a wall: gets through", "yes=1", "0"),
    "door_box_covers_gap": ("door gap covered by a locked box: agent passes", "yes=1", "0"),
    "door_opening_0.25": ("door, 0.25 m left beside a locked box: passes", "yes=1", "0"),
    "door_opening_0.32": ("door, 0.32 m left beside a locked box: passes", "yes=1", "1"),
    "door_opening_0.36": ("door, 0.36 m left beside a locked box: passes", "yes=1", "1"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arena", default="quadrant")
    p.add_argument("--turning", default="composite", choices=("agent", "composite"),
                   help="how PhysX's turning law reaches a held object: composite (the scene's way) "
                        "or composite (hideseek.physx.law)")
    p.add_argument("probes", nargs="*", metavar="probe",
                   help=f"probes to run (default: all of {', '.join(PROBES)})")
    args = p.parse_args()
    unknown = sorted(set(args.probes) - set(PROBES))
    if unknown:
        p.error(f"unknown probe {unknown[0]!r}; expected one of {', '.join(PROBES)}")
    require()
    from hideseek.physx.sim import PhysxSim

    torch.set_num_threads(1)
    world = load_world_config(args.arena)
    engines = {"twin": lambda w: TwinSim(w, 1),
               "physx": lambda w: PhysxSim(w, 1, turning=args.turning)}
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"arena {args.arena}, PhysX turning {args.turning}")
    print("| rule | unit | twin | PhysX | WORLD.md |")
    print("| --- | --- | ---: | ---: | --- |")
    start = time.perf_counter()
    for name in args.probes or list(PROBES):
        rule, unit, target = ROWS[name]
        values = [PROBES[name](make, world) for make in engines.values()]
        cells = " | ".join(f"{v:.3g}" for v in values)
        print(f"| {rule} (`{name}`) | {unit} | {cells} | {target} |", flush=True)
    print(f"# {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
