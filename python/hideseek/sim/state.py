"""The simulator's state: plain tensors, one row per arena (structure of arrays).

Boxes and ramps share one "object" array (boxes first, then ramps) so that collisions, grabbing
and locking are written once. Absent entities are parked far outside the arena, so geometry
kernels need no masks; observation, vision and reward code use the ``*_present`` masks.

Two layouts of the same fields: ``SimState`` is the public one, arena first ([N, A, 2] ...), as
checkpoints, tests and the Unity parity code read it. The step works on the *core* layout, the
same tensors with their dimensions reversed ([2, A, N] ...), so that every field is a set of
contiguous per-arena rows: x and y are separate [A, N] planes, the arena index is the fastest
dimension, and every kernel is an elementwise loop over arenas that the compiler vectorises
(and that coalesces on a GPU). ``TwinSim.state`` hands out views of the core tensors, so
editing it in place edits the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from torch import Tensor

PARK_DISTANCE = 1000.0  # where absent entities live: far beyond lidar range and any contact


@dataclass
class SimState:
    # Agents [N, A]: hiders in slots [0, max_hiders), seekers after.
    agent_pos: Tensor          # [N, A, 2] float, arena frame (m), arena centre at the origin
    agent_vel: Tensor          # [N, A, 2]
    agent_z: Tensor            # [N, A] height of the feet (m): 0 on the floor, top on walls/boxes
    agent_yaw: Tensor          # [N, A] rad, counter-clockwise from +x
    agent_angvel: Tensor       # [N, A] rad/s
    agent_present: Tensor      # [N, A] bool
    agent_support: Tensor      # [N, A] int64, object index the agent stands on, -1 none
    # Objects [N, O]: boxes in [0, max_boxes), ramps after.
    obj_pos: Tensor            # [N, O, 2]
    obj_vel: Tensor            # [N, O, 2]
    obj_yaw: Tensor            # [N, O]
    obj_half: Tensor           # [N, O, 2] half extents along the object's local x and y (m)
    obj_present: Tensor        # [N, O] bool
    obj_locked_team: Tensor    # [N, O] int64: -1 unlocked, 0 hiders, 1 seekers
    obj_held_by: Tensor        # [N, O] int64: agent slot holding it, -1 none
    obj_hold_offset: Tensor    # [N, O, 2] object centre in the holder's frame when grabbed
    obj_hold_yaw: Tensor       # [N, O] object yaw minus holder yaw when grabbed
    # Static walls [N, W]: segments of thickness world.wall_thickness.
    wall_a: Tensor             # [N, W, 2]
    wall_b: Tensor             # [N, W, 2]
    # Doors [N, D]: centre of each door gap (for the door-blocking statistic).
    door_pos: Tensor           # [N, D, 2]
    door_present: Tensor       # [N, D] bool
    # Episode bookkeeping.
    t: Tensor                  # [N] int64 steps taken in this episode
    seed: Tensor               # [N] int64 arena seed
    episode: Tensor            # [N] int64 episodes since the seed was set
    # Statistic accumulators (WORLD.md "Episode statistics").
    obj_spawn_pos: Tensor      # [N, O, 2]
    max_obj_disp: Tensor       # [N, O] whole episode
    max_obj_disp_prep: Tensor  # [N, O] during the preparation phase
    hider_return: Tensor       # [N] float, summed team reward of one hider (mean over hiders)
    hidden_steps: Tensor       # [N] float, post-prep steps with no hider seen
    seeker_top_steps: Tensor   # [N] float
    grabs: Tensor              # [N, A] float, grab events per agent
    prep_locks: Tensor         # [N, O] int64, obj_locked_team snapshot at the end of prep
    doors_blocked_prep: Tensor  # [N] float
    room_sealed_prep: Tensor   # [N] float: 1 when every door was blocked by a hider-locked box

    def tensors(self) -> dict[str, Tensor]:
        """Every field as a contiguous tensor, arena first (what checkpoints store)."""
        return {f.name: getattr(self, f.name).contiguous() for f in fields(self)}


Core = dict[str, Tensor]   # SimState's fields in the core layout (dimensions reversed)


def flip(t: Tensor) -> Tensor:
    """The same tensor with its dimensions reversed (a view): public <-> core layout."""
    return t.permute(tuple(reversed(range(t.dim()))))


def to_core(s: SimState) -> Core:
    """Copy a public-layout state into contiguous core-layout tensors."""
    return {f.name: flip(getattr(s, f.name)).contiguous() for f in fields(s)}


def to_core_view(s: SimState) -> Core:
    """A public-layout state's fields as core-layout views (no copy; strided)."""
    return {f.name: flip(getattr(s, f.name)) for f in fields(s)}


def from_core(core: Core) -> SimState:
    """A public-layout SimState whose fields are views of ``core`` (edits write through)."""
    return SimState(**{name: flip(t) for name, t in core.items()})


def core_assign(core: Core, arenas: Tensor, fresh: Core) -> None:
    """Overwrite arenas ``arenas`` (int64 index) of ``core`` in place with ``fresh``, a core
    state holding just those arenas."""
    for name, t in core.items():
        t.index_copy_(t.dim() - 1, arenas, fresh[name])
