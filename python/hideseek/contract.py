"""The world contract in code: arena config and the observation / state / action layout.

This module is the single source of truth on the Python side for what ``../shared/WORLD.md``
specifies. Every other module (simulator, envs, models, export, the Unity twin, the C# parity
test) reads sizes and column names from here. Arena values live in ``configs/arenas/*.yaml`` and
are validated by :class:`WorldConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from .config_io import ConfigError, build, merge, read_yaml, spec, to_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "configs"
ARENA_DIR = CONFIG_DIR / "arenas"

# Discrete action branches, WORLD.md "Actions": force x, force y, torque, grab, lock.
ACTION_BRANCHES: tuple[int, ...] = (11, 11, 11, 2, 2)
ACTION_BRANCH_NAMES: tuple[str, ...] = ("force_x", "force_y", "torque", "grab", "lock")
NO_MOVE_BIN = 5  # the middle bin of an 11-bin movement branch: no force / torque
# "Do nothing": no force, no torque, release, no lock. What frozen agents (seekers in prep) do.
NOOP_ACTION: tuple[int, ...] = (NO_MOVE_BIN, NO_MOVE_BIN, NO_MOVE_BIN, 0, 0)

# ML-Agents behavior names and team ids (WORLD.md "ML-Agents mapping").
TEAMS: tuple[str, ...] = ("hider", "seeker")
BEHAVIOR_NAMES: dict[str, str] = {"hider": "Hider?team=0", "seeker": "Seeker?team=1"}

# Observation columns (WORLD.md "Observations"). Lidar columns are appended from the config.
SELF_BASE_COLUMNS: tuple[str, ...] = (
    "x", "y", "z", "vx", "vy", "sin_theta", "cos_theta", "angular_velocity",
    "is_hider", "prep_left", "episode_left",
)
AGENT_COLUMNS: tuple[str, ...] = (
    "present", "dx", "dy", "dz", "vx", "vy", "sin_theta", "cos_theta", "is_teammate", "is_hider",
)
OBJECT_COLUMNS: tuple[str, ...] = (
    "present", "dx", "dy", "dz", "vx", "vy", "sin_theta", "cos_theta", "size_x", "size_y",
    "locked_by_my_team", "locked_by_other_team", "held_by_me", "held_by_other",
)
# Centralized critic state (WORLD.md "Centralized critic input"): every entity unmasked, in the
# arena frame. An agent's row is "present" followed by its full self vector (obs_0, lidar
# included), so the state columns of agents come from ``ObsLayout.state_agent_columns``.
STATE_OBJECT_COLUMNS: tuple[str, ...] = (
    "present", "x", "y", "z", "vx", "vy", "sin_theta", "cos_theta", "size_x", "size_y",
    "locked_by_hiders", "locked_by_seekers", "held_by_hider", "held_by_seeker",
)
# Wall segments (centre line end points / floor_size); a door is a gap between two segments.
STATE_WALL_COLUMNS: tuple[str, ...] = ("present", "x1", "y1", "x2", "y2")
STATE_GLOBAL_COLUMNS: tuple[str, ...] = ("prep_left", "episode_left")

# Episode statistics both simulators report (WORLD.md "Episode statistics"), by name.
EPISODE_STATS: tuple[str, ...] = (
    "hider_return",
    "hidden_fraction",
    "max_box_displacement_prep",
    "max_box_displacement",
    "max_ramp_displacement_prep",
    "max_ramp_displacement",
    "boxes_locked_prep_by_hiders",
    "boxes_locked_prep_by_seekers",
    "ramps_locked_prep_by_hiders",
    "ramps_locked_prep_by_seekers",
    "boxes_locked_end_by_hiders",
    "boxes_locked_end_by_seekers",
    "ramps_locked_end_by_hiders",
    "ramps_locked_end_by_seekers",
    "doors_blocked_prep",
    "room_sealed_prep",
    "seeker_on_top_steps",
    "grabs_per_hider",
    "grabs_per_seeker",
)

Range = tuple[int, int]

# The WORLD.md version this code implements. v1.1 gave agents the original's movement (five times
# faster than v1) with Coulomb floor friction; a world without that field is a v1 world.
WORLD_VERSION = "1.1"


def world_version(world: Mapping[str, Any]) -> str:
    """The WORLD.md version of a world as recorded in a checkpoint or an ONNX file (a dict of
    WorldConfig fields)."""
    return WORLD_VERSION if "floor_friction" in world else "1"


@dataclass(frozen=True)
class WorldConfig:
    """Every number of the world. Defaults are the ``quadrant`` scenario of WORLD.md."""

    scenario: str = field(default="quadrant", metadata=spec(choices=("quadrant", "random_rooms")))
    # Arena geometry (m).
    floor_size: float = field(default=6.0, metadata=spec(ge=2.0, le=50.0))
    wall_height: float = field(default=0.5, metadata=spec(gt=0.0))
    wall_thickness: float = field(default=0.1, metadata=spec(gt=0.0, le=0.5))
    door_width: float = field(default=0.4, metadata=spec(gt=0.0))
    room_size: float = field(default=3.0, metadata=spec(gt=0.0, doc="quadrant room side"))
    door_removal_prob: float = field(default=0.5, metadata=spec(ge=0.0, le=1.0))
    n_rooms: Range = field(default=(1, 4), metadata=spec(ge=1, le=4, doc="random_rooms only"))
    # Entity counts, sampled per episode in [min, max]; tensors are padded to max.
    n_hiders: Range = field(default=(2, 2), metadata=spec(ge=1, le=8))
    n_seekers: Range = field(default=(2, 2), metadata=spec(ge=1, le=8))
    n_boxes: Range = field(default=(2, 2), metadata=spec(ge=0, le=16))
    n_elongated_boxes: Range = field(default=(0, 0), metadata=spec(ge=0, le=16))
    n_ramps: Range = field(default=(1, 1), metadata=spec(ge=0, le=8))
    team_spawn_radius: float = field(default=1.2, metadata=spec(gt=0.0, doc="random_rooms"))
    # Episode.
    horizon: int = field(default=80, metadata=spec(ge=2, le=100_000))
    prep_fraction: float = field(default=0.4, metadata=spec(ge=0.0, lt=1.0))
    dt: float = field(default=0.075, metadata=spec(gt=0.0, le=1.0))
    # Bodies.
    agent_radius: float = field(default=0.15, metadata=spec(gt=0.0))
    agent_mass: float = field(default=1.0, metadata=spec(gt=0.0))
    agent_inertia: float = field(default=0.01, metadata=spec(gt=0.0, doc="yaw, kg m^2"))
    box_size: float = field(default=0.5, metadata=spec(gt=0.0))
    elongated_box_length: float = field(default=1.5, metadata=spec(gt=0.0))
    box_mass: float = field(default=1.0, metadata=spec(gt=0.0))
    ramp_width: float = field(default=0.5, metadata=spec(gt=0.0))
    ramp_length: float = field(default=1.0, metadata=spec(gt=0.0))
    ramp_height: float = field(default=0.5, metadata=spec(gt=0.0))
    ramp_mass: float = field(default=2.0, metadata=spec(gt=0.0))
    # Movement (WORLD.md v1.1, the original's agents). Per axis a body obeys
    #   dv/dt = F/m - friction * v - floor_friction * gravity * v/|v|
    # (viscous drag plus Coulomb floor friction), so an agent's top speed along an axis is
    # (max_force / agent_mass - floor_friction * gravity) / agent_friction = 8 m/s. Turning obeys
    # agent_inertia * dw/dt = torque - agent_angular_friction * w: a top rate of
    # max_torque / agent_angular_friction = 9 rad/s, reached within milliseconds.
    max_force: float = field(default=90.0, metadata=spec(gt=0.0))
    max_torque: float = field(default=90.0, metadata=spec(gt=0.0, doc="N m"))
    agent_friction: float = field(default=10.0, metadata=spec(ge=0.0, doc="viscous, 1/s"))
    agent_angular_friction: float = field(default=10.0, metadata=spec(ge=0.0, doc="N m s"))
    object_friction: float = field(default=0.0, metadata=spec(ge=0.0, doc="viscous, 1/s"))
    floor_friction: float = field(default=0.2, metadata=spec(ge=0.0, le=2.0, doc="Coulomb"))
    gravity: float = field(default=50.0, metadata=spec(gt=0.0, le=100.0, doc="m/s^2"))
    # The twin integrates each step in this many substeps (Unity: fixed timesteps per decision
    # are its own setting); contacts are swept along each substep's motion.
    physics_substeps: int = field(default=2, metadata=spec(ge=1, le=16))
    physics_iterations: int = field(default=2, metadata=spec(ge=1, le=20))
    # PhysX, as the Unity scene sets it up (ArenaBuilder) and hideseek.physx runs it: the fixed
    # physics timestep (Time.fixedDeltaTime; dt is a whole number of them), the solver's
    # iterations and the contact offset (Unity's defaults). docs/physx.md maps each to Unity.
    physics_timestep: float = field(default=0.015, metadata=spec(gt=0.0, le=1.0, doc="s"))
    solver_position_iterations: int = field(default=6, metadata=spec(ge=1, le=255))
    solver_velocity_iterations: int = field(default=1, metadata=spec(ge=1, le=255))
    contact_offset: float = field(default=0.01, metadata=spec(gt=0.0, le=1.0, doc="m"))
    # Interaction.
    grab_distance: float = field(default=0.25, metadata=spec(ge=0.0))
    lock_distance: float = field(default=0.25, metadata=spec(ge=0.0))
    # Sensors.
    vision_cone_deg: float = field(default=135.0, metadata=spec(gt=0.0, le=360.0))
    lidar_rays: int = field(default=30, metadata=spec(ge=0, le=256))
    lidar_range: float = field(default=6.0, metadata=spec(gt=0.0))
    # Rewards.
    oob_penalty: float = field(default=10.0, metadata=spec(ge=0.0))

    def check(self, source: str) -> None:
        """Cross-field rules that single-field bounds cannot express."""
        if self.n_elongated_boxes[1] > self.n_boxes[1]:
            raise ConfigError(source, "n_elongated_boxes", list(self.n_elongated_boxes),
                              f"max <= n_boxes max ({self.n_boxes[1]})")
        if self.scenario == "quadrant":
            if self.room_size >= self.floor_size - 4 * self.wall_thickness:
                raise ConfigError(source, "room_size", self.room_size,
                                  f"a room smaller than the floor ({self.floor_size})")
            if self.door_width >= self.room_size - 2 * self.wall_thickness:
                raise ConfigError(source, "door_width", self.door_width,
                                  f"a door narrower than the room ({self.room_size})")
        if self.door_width <= 2 * self.agent_radius:
            raise ConfigError(source, "door_width", self.door_width,
                              f"a door wider than an agent (> {2 * self.agent_radius})")
        if self.ramp_height < self.wall_height or self.box_size < self.wall_height:
            raise ConfigError(source, "ramp_height", self.ramp_height,
                              f"ramps and boxes at least as tall as walls ({self.wall_height})")
        if self.max_force <= self.floor_friction * self.gravity * self.agent_mass:
            raise ConfigError(source, "max_force", self.max_force,
                              "more than the floor friction on an agent (floor_friction * gravity * "
                              f"agent_mass = {self.floor_friction * self.gravity * self.agent_mass})")
        # Within float32 rounding: Unity's parameters arrive as float32.
        steps = round(self.dt / self.physics_timestep)
        if steps < 1 or abs(steps * self.physics_timestep - self.dt) > 1e-6 * self.dt:
            raise ConfigError(source, "physics_timestep", self.physics_timestep,
                              f"a whole fraction of dt ({self.dt}): whole physics steps per step")
        if self.horizon * self.prep_fraction < 1 and self.prep_fraction > 0:
            raise ConfigError(source, "prep_fraction", self.prep_fraction,
                              "0 or at least one preparation step for this horizon")

    # Derived quantities used by the simulator; kept here so Unity and twin agree.
    @property
    def prep_steps(self) -> int:
        return int(math.floor(self.horizon * self.prep_fraction))

    @property
    def max_agents(self) -> int:
        return self.n_hiders[1] + self.n_seekers[1]

    @property
    def max_walls(self) -> int:
        """Wall segment slots: 4 outer walls plus the inner wall pieces between doors
        (quadrant: 2 walls x 2 pieces; random_rooms: a 3-piece vertical wall, 2 x 2 horizontal)."""
        return 8 if self.scenario == "quadrant" else 11

    @cached_property
    def layout(self) -> "ObsLayout":
        return ObsLayout(self)


@dataclass(frozen=True)
class ObsLayout:
    """Shapes and column names of obs_0..obs_3, the action mask and the critic state."""

    world: WorldConfig

    @property
    def max_agents(self) -> int:
        return self.world.max_agents

    @property
    def max_hiders(self) -> int:
        return self.world.n_hiders[1]

    @property
    def max_seekers(self) -> int:
        return self.world.n_seekers[1]

    @property
    def max_boxes(self) -> int:
        return self.world.n_boxes[1]

    @property
    def max_ramps(self) -> int:
        return self.world.n_ramps[1]

    @property
    def self_columns(self) -> tuple[str, ...]:
        return SELF_BASE_COLUMNS + tuple(f"lidar_{i}" for i in range(self.world.lidar_rays))

    @property
    def obs_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-agent shapes of obs_0..obs_3 (no batch dimension). Buffers keep >= 1 row so
        ML-Agents' BufferSensor and ONNX never see an empty dimension."""
        return (
            (len(self.self_columns),),
            (max(self.max_agents - 1, 1), len(AGENT_COLUMNS)),
            (max(self.max_boxes, 1), len(OBJECT_COLUMNS)),
            (max(self.max_ramps, 1), len(OBJECT_COLUMNS)),
        )

    @property
    def obs_names(self) -> tuple[str, ...]:
        return ("obs_0", "obs_1", "obs_2", "obs_3")

    @property
    def obs_columns(self) -> tuple[tuple[str, ...], ...]:
        return (self.self_columns, AGENT_COLUMNS, OBJECT_COLUMNS, OBJECT_COLUMNS)

    @property
    def action_branches(self) -> tuple[int, ...]:
        return ACTION_BRANCHES

    @property
    def action_mask_size(self) -> int:
        return sum(ACTION_BRANCHES)

    @property
    def state_agent_columns(self) -> tuple[str, ...]:
        return ("present",) + self.self_columns

    # Critic state: [agents block | boxes block | ramps block | walls block | globals].
    @property
    def state_blocks(self) -> tuple[tuple[str, int, int], ...]:
        """(name, rows, columns) of each block of the flat global state, in order."""
        return (
            ("agents", self.max_agents, len(self.state_agent_columns)),
            ("boxes", self.max_boxes, len(STATE_OBJECT_COLUMNS)),
            ("ramps", self.max_ramps, len(STATE_OBJECT_COLUMNS)),
            ("walls", self.world.max_walls, len(STATE_WALL_COLUMNS)),
            ("globals", 1, len(STATE_GLOBAL_COLUMNS)),
        )

    @property
    def state_size(self) -> int:
        return sum(rows * cols for _, rows, cols in self.state_blocks)

    def state_slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for name, rows, cols in self.state_blocks:
            out[name] = slice(start, start + rows * cols)
            start += rows * cols
        return out

    def team_slice(self, team: str) -> slice:
        """Agent slots of ``team``: hiders first, then seekers (contract slot order)."""
        if team not in TEAMS:
            raise ValueError(f"team: expected one of {TEAMS}, got {team!r}")
        return slice(0, self.max_hiders) if team == "hider" else slice(self.max_hiders, self.max_agents)

    def team_slices(self) -> dict[str, slice]:
        return {team: self.team_slice(team) for team in TEAMS}

    @property
    def agent_names(self) -> tuple[str, ...]:
        """PettingZoo names of the agent slots: hiders first, then seekers (slot order)."""
        return tuple(f"hider_{i}" for i in range(self.max_hiders)) + tuple(
            f"seeker_{i}" for i in range(self.max_seekers))

    def describe(self) -> dict[str, Any]:
        """The layout as plain data (used by docs, the C# parity test and the Unity twin)."""
        return {
            "obs_shapes": [list(s) for s in self.obs_shapes],
            "obs_columns": [list(c) for c in self.obs_columns],
            "action_branches": list(ACTION_BRANCHES),
            "state_size": self.state_size,
            "state_blocks": [list(b) for b in self.state_blocks],
            "state_agent_columns": list(self.state_agent_columns),
            "state_object_columns": list(STATE_OBJECT_COLUMNS),
            "state_wall_columns": list(STATE_WALL_COLUMNS),
            "state_global_columns": list(STATE_GLOBAL_COLUMNS),
        }


def arena_path(name_or_path: str | Path) -> Path:
    """``"quadrant"`` -> ``configs/arenas/quadrant.yaml``; a path is returned unchanged."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return ARENA_DIR / f"{name_or_path}.yaml"


def load_world_config(name_or_path: str | Path = "quadrant",
                      overrides: Mapping[str, Any] | None = None) -> WorldConfig:
    """Load and validate an arena config by scenario name or YAML path, with overrides."""
    path = arena_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in ARENA_DIR.glob("*.yaml")))
        raise ConfigError(str(path), "<arena>", str(name_or_path),
                          f"an arena name ({known}) or a YAML file")
    data = merge(read_yaml(path), dict(overrides or {}))
    source = str(path) + (" (with overrides)" if overrides else "")
    return build(WorldConfig, data, source)


def world_from_dict(data: Mapping[str, Any], source: str = "<world>") -> WorldConfig:
    return build(WorldConfig, data, source)


def world_to_dict(world: WorldConfig) -> dict:
    return to_dict(world)
