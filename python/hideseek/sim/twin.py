"""TwinSim: N hide-and-seek arenas stepped at once on one torch device.

The hot path (``_step_core``) is one pure function of core-layout tensors (``hideseek.sim.state``)
with no Python loop over arenas, no data-dependent control flow and no host<->device transfer,
so it runs unchanged on CPU and CUDA, and ``torch.compile`` fuses it into a few loops over the
arenas (vectorised on CPU; replayed as a CUDA graph on a GPU). Wall geometry is static within
an episode and is computed when episodes start, not per step. Episodes end only at the horizon,
so the host knows from a step counter of its own when arenas must be reset -- auto-reset needs
no device sync.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..contract import ACTION_BRANCHES, NO_MOVE_BIN, NOOP_ACTION, WorldConfig
from . import layouts
from .cuda_graph import GraphedFunction
from .physics import (PhysicsConstants, Walls, held_pose, solve_contacts, update_heights,
                      wall_geometry)
from .rules import accumulate_stats, apply_grab, apply_lock, episode_stats, rewards
from .sensors import SensorConstants, Trig, lidar, pack, phase_of, state_planes, visibility
from .state import Core, SimState, core_assign, flip, from_core, to_core
from .types import AgentObs, StepOutput

CUDA_GRAPH_MODE = "reduce-overhead"   # torch.compile mode that replays the step as a CUDA graph


def _clone(tree):
    """Copies of the tensors in a tree of outputs (a CUDA graph's replay overwrites its own)."""
    return torch.utils._pytree.tree_map(lambda x: x.clone() if isinstance(x, Tensor) else x, tree)


def _seed_tensor(seed: int | Sequence[int], n: int, device: torch.device) -> Tensor:
    if isinstance(seed, (int, np.integer)):
        return torch.arange(n, dtype=torch.int64, device=device) + int(seed)
    seeds = torch.as_tensor(list(seed), dtype=torch.int64, device=device)
    if seeds.shape != (n,):
        raise ValueError(f"seed: expected an int or {n} per-arena seeds, got {len(seeds)}")
    return seeds


def _compile_mode(compile: bool | str, device: torch.device, cuda_graph: bool) -> str | None:
    """None = eager; otherwise the torch.compile mode: CUDA graphs on a GPU by default (ours
    when ``cuda_graph``, else torch.compile's own)."""
    if cuda_graph and device.type != "cuda":
        raise ValueError(f"cuda_graph: needs a CUDA device, got {device}")
    if compile is False:
        return None
    if compile is True:
        return CUDA_GRAPH_MODE if device.type == "cuda" and not cuda_graph else "default"
    if compile not in ("default", CUDA_GRAPH_MODE, "max-autotune-no-cudagraphs"):
        raise ValueError(f"compile: expected True, False, 'default', '{CUDA_GRAPH_MODE}' or "
                         f"'max-autotune-no-cudagraphs', got {compile!r}")
    if cuda_graph and compile == CUDA_GRAPH_MODE:
        raise ValueError(f"compile: '{CUDA_GRAPH_MODE}' records CUDA graphs itself; with "
                         "cuda_graph=True use True or 'default'")
    return compile


class TwinSim:
    """The batched twin. See ``hideseek.sim.types`` for what ``reset``/``step`` return.

    ``compile``: False runs eagerly; True compiles the step with ``torch.compile`` (CUDA-graph
    mode on a GPU); a string picks the torch.compile mode. ``cuda_graph`` (CUDA only) captures
    the step, eager or compiled, into a CUDA graph of our own (``hideseek.sim.cuda_graph``):
    a GPU step without a compile wait, replayed with no Python per kernel."""

    def __init__(self, world: WorldConfig, num_arenas: int, device: str | torch.device = "cpu",
                 seed: int | Sequence[int] = 0, compile: bool | str = False,
                 cuda_graph: bool = False):
        if num_arenas < 1:
            raise ValueError(f"num_arenas: expected >= 1, got {num_arenas}")
        self.world = world
        self.layout = world.layout
        self.num_arenas = num_arenas
        self.device = torch.device(device)
        self._pc = PhysicsConstants.of(world)
        self._sc = SensorConstants.of(world, self.device)
        lay = self.layout
        masses = [world.box_mass] * lay.max_boxes + [world.ramp_mass] * lay.max_ramps
        self._obj_inv_mass = (1.0 / torch.tensor(masses, device=self.device)).reshape(-1, 1)
        self._is_ramp = self._sc.is_ramp[:, None]
        self._slots = torch.arange(lay.max_agents, device=self.device)[:, None]
        self._noop = torch.tensor(NOOP_ACTION, device=self.device)[None, :, None]
        self._branch_hi = torch.tensor([b - 1 for b in ACTION_BRANCHES], device=self.device)
        full = torch.ones(sum(ACTION_BRANCHES), dtype=torch.bool, device=self.device)
        frozen = torch.zeros_like(full)
        start = 0
        for size, allowed in zip(ACTION_BRANCHES, NOOP_ACTION):
            frozen[start + allowed] = True
            start += size
        self._mask_rows = torch.stack([full, frozen])      # row 1: a frozen agent's mask
        # Compiled once per batch size; the reset-time observation is compiled too because
        # it runs for the whole batch whenever any arena starts a new episode.
        self._mode = _compile_mode(compile, self.device, cuda_graph)
        self._move_fn, self._sense_fn, self._observe_fn = self._move, self._sense, self._observe
        if self._mode is not None:
            self._move_fn, self._sense_fn, self._observe_fn = (
                torch.compile(f, dynamic=False, mode=self._mode)
                for f in (self._move, self._sense, self._observe))
        self._graphs: tuple[GraphedFunction, GraphedFunction] | None = None
        if cuda_graph:   # the step and the reset-time observation never run at once: one pool
            pool = torch.cuda.graph_pool_handle()
            self._graphs = (GraphedFunction(self._step_core, pool=pool),
                            GraphedFunction(self._observe_fn, pool=pool))
        self._core: Core
        self._walls: Walls
        self._t_host = np.zeros(num_arenas, dtype=np.int64)
        self.reset(seed)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> SimState:
        """The state, arena first. Its tensors are views of the simulator's own: editing them
        in place edits the simulator (call :meth:`observe` afterwards)."""
        return from_core(self._core)

    @state.setter
    def state(self, value: SimState) -> None:
        self._set_core(to_core(value))

    def _set_core(self, core: Core) -> None:
        self._core = core
        self._walls = wall_geometry(core["wall_a"], core["wall_b"], self._pc)

    def _run(self, fn, *args):
        """Call a (possibly compiled) function; CUDA-graph outputs are copied out, since the
        next replay overwrites the graph's own buffers."""
        if self._mode != CUDA_GRAPH_MODE:
            return fn(*args)
        torch.compiler.cudagraph_mark_step_begin()
        return _clone(fn(*args))

    # ------------------------------------------------------------------ reset / observe
    def reset(self, seed: int | Sequence[int] | None = None) -> AgentObs:
        """Start a new episode in every arena. ``seed``: arena k gets ``seed + k`` (or the k-th
        of a list); None continues each arena's seed with its next episode."""
        n = self.num_arenas
        if seed is None and hasattr(self, "_core"):
            seeds, episodes = self._core["seed"], self._core["episode"] + 1
        else:
            seeds = _seed_tensor(0 if seed is None else seed, n, self.device)
            episodes = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._set_core(to_core(layouts.generate(self.world, seeds, episodes)))
        self._t_host[:] = 0
        self._observe_all()
        return self._obs

    def observe(self) -> AgentObs:
        """Recompute observations from the state (after editing it by hand, e.g. in tests)."""
        self._set_core(self._core)
        planes, _, self._seen_objs = self._observe(self._core, Trig.of(self._core))
        self._obs = self._agent_obs(planes)
        self._t_host[:] = self._core["t"].cpu().numpy()
        return self._obs

    def _observe_all(self) -> None:
        trig = Trig.of(self._core)
        if self._graphs is None:
            planes, _, self._seen_objs = self._run(self._observe_fn, self._core, trig)
        else:
            planes, _, seen_objs = self._graphs[1](self._core, trig)
            planes, self._seen_objs = _clone((planes, seen_objs))
        self._obs = self._agent_obs(planes)

    @property
    def obs(self) -> AgentObs:
        return self._obs

    def _observe(self, core: Core, trig: Trig) -> tuple[tuple[Tensor, ...], Tensor, Tensor]:
        """Observation tensors (see :meth:`_agent_obs`), and who sees which agents [A, A, N]
        and objects [A, O, N]. ``trig`` holds the state's yaws' cos and sin, computed by the
        caller outside this (compiled) function so that they are computed once."""
        seen_agents, seen_objs = visibility(core, self._sc, trig)
        obs_0, obs_1, obs_2, obs_3, frozen = pack(core, self._sc, trig, seen_agents, seen_objs,
                                                  lidar(core, self._sc, trig))
        present = flip(core["agent_present"]).clone(memory_format=torch.contiguous_format)
        frozen = flip(frozen).to(torch.int64).clone(memory_format=torch.contiguous_format)
        planes = (obs_0, obs_1, obs_2, obs_3, frozen, state_planes(core, self._sc, trig, obs_0),
                  present)
        return planes, seen_agents, seen_objs

    def _agent_obs(self, planes: tuple[Tensor, ...]) -> AgentObs:
        """AgentObs from :meth:`_observe`'s tensors. The action mask is built here, outside
        the compiled step, as a row lookup: compiled code writes its 37-wide rows slowly."""
        obs_0, obs_1, obs_2, obs_3, frozen, state, present = planes
        return AgentObs(obs_0, obs_1, obs_2, obs_3, self._mask_rows[frozen], state, present)

    # ------------------------------------------------------------------ step
    def step(self, actions: Tensor) -> StepOutput:
        """Advance every arena by one step. ``actions``: int64 [N, A, 5] bins; actions a mask
        forbids (seekers during prep, absent agents) are replaced by "do nothing"."""
        expected = (self.num_arenas, self.layout.max_agents, len(ACTION_BRANCHES))
        if tuple(actions.shape) != expected:
            raise ValueError(f"actions: expected shape {expected}, got {tuple(actions.shape)}")
        if actions.dtype.is_floating_point or actions.dtype == torch.bool:
            raise ValueError(f"actions: expected an integer tensor, got {actions.dtype}")
        actions = torch.minimum(actions.to(self.device, torch.int64).clamp(min=0), self._branch_hi)
        if self._graphs is None:
            core, planes, reward, hidden, seen_objs = self._run(
                self._step_core, self._core, self._walls, actions, self._seen_objs)
        else:   # the state stays in the graph's input buffers; what the caller keeps is copied
            graph = self._graphs[0]
            core, planes, reward, hidden, seen_objs = graph(self._core, self._walls, actions,
                                                            self._seen_objs)
            core, seen_objs = graph.carry(core, 0), graph.carry(seen_objs, 3)
            planes, reward, hidden = _clone((planes, reward, hidden))
        obs = self._agent_obs(planes)
        self._core = core
        self._obs, self._seen_objs = obs, seen_objs
        self._t_host += 1
        done = self._t_host >= self.world.horizon
        if not done.any():
            return StepOutput(obs, reward, torch.zeros(self.num_arenas, dtype=torch.bool,
                                                        device=self.device),
                              hidden, None, None)
        # Cloned: the reset below overwrites the accumulators.
        stats = {k: v.clone() for k, v in episode_stats(core, self.world, self._sc).items()}
        seeds, episodes = core["seed"], core["episode"] + 1
        if done.all():
            self._set_core(to_core(layouts.generate(self.world, seeds, episodes)))
        else:
            idx = torch.as_tensor(np.flatnonzero(done), device=self.device)
            fresh = to_core(layouts.generate(self.world, seeds[idx], episodes[idx]))
            # The step's outputs may alias its inputs: copy before writing in place.
            self._core = {k: v.clone() for k, v in core.items()}
            core_assign(self._core, idx, fresh)
            self._set_core(self._core)
        self._t_host[done] = 0
        self._observe_all()
        truncated = torch.as_tensor(done, device=self.device)
        return StepOutput(self._obs, reward, truncated, hidden, obs, stats)

    def _step_core(self, core: Core, walls: Walls, actions: Tensor, seen_objs: Tensor):
        """One step of every arena: the new core state, observation tensors, reward [N, A],
        hidden [N] and who sees which object [A, O, N]. Pure: ``core`` itself is not modified.
        Two functions, compiled apart: Inductor compiles one graph of the whole step an order of
        magnitude slower and schedules it worse than the physics and the senses apart."""
        return self._sense_fn(*self._move_fn(core, walls, actions, seen_objs))

    def _move(self, core: Core, walls: Walls, actions: Tensor, seen_objs: Tensor):
        """Actions, physics and heights: the new core state, its yaws' :class:`Trig`, whether
        the step was in prep [N] and the new grabs [A, N]."""
        world, pc, sc = self.world, self._pc, self._sc
        core = dict(core)
        in_prep, _, _ = phase_of(core["t"], sc)
        present = core["agent_present"]
        frozen = (in_prep & ~sc.is_hider[:, None]) | ~present                     # [A, N]
        act = torch.where(frozen[:, None], self._noop, actions.permute(1, 2, 0))  # [A, 5, N]
        force_x = (act[:, 0] - NO_MOVE_BIN).float() * (world.max_force / NO_MOVE_BIN)
        force_y = (act[:, 1] - NO_MOVE_BIN).float() * (world.max_force / NO_MOVE_BIN)
        torque = (act[:, 2] - NO_MOVE_BIN).float() * (world.max_torque / NO_MOVE_BIN)

        # Grab and lock act on what the agent saw at its last observation.
        new_grabs = apply_grab(core, act[:, 3], seen_objs, world)
        apply_lock(core, act[:, 4], seen_objs, world, sc)

        # Integrate velocities with implicit friction, then predict positions.
        dt = pc.dt
        pos, vel = core["agent_pos"], core["agent_vel"]
        damp = 1 + world.agent_friction * dt
        vx = (vel[0] + force_x * (dt / world.agent_mass)) / damp
        vy = (vel[1] + force_y * (dt / world.agent_mass)) / damp
        angvel = (core["agent_angvel"] + torque * dt) / (1 + world.agent_angular_friction * dt)
        yaw = torch.remainder(core["agent_yaw"] + angvel * dt + torch.pi, 2 * torch.pi) - torch.pi
        ax, ay = pos[0] + vx * dt, pos[1] + vy * dt
        obj_pos, obj_vel, half = core["obj_pos"], core["obj_vel"], core["obj_half"]
        held_by, locked_team = core["obj_held_by"], core["obj_locked_team"]
        locked = locked_team >= 0
        obj_damp = 1 + world.object_friction * dt
        ox, oy = obj_pos[0] + obj_vel[0] / obj_damp * dt, obj_pos[1] + obj_vel[1] / obj_damp * dt
        held = held_by >= 0
        holder = held_by.clamp(min=0)
        offset = core["obj_hold_offset"]
        hx, hy, hyaw = held_pose(ax.gather(0, holder), ay.gather(0, holder), yaw.gather(0, holder),
                                 offset[0], offset[1], core["obj_hold_yaw"])
        ox = torch.where(locked, obj_pos[0], torch.where(held, hx, ox))
        oy = torch.where(locked, obj_pos[1], torch.where(held, hy, oy))
        obj_yaw = torch.where(held, hyaw, core["obj_yaw"])
        inv_mass = torch.where(locked | ~core["obj_present"], 0.0, self._obj_inv_mass)
        ocos, osin = torch.cos(obj_yaw), torch.sin(obj_yaw)

        ax, ay, ox, oy = solve_contacts(
            ax, ay, core["agent_z"], present, ox, oy, ocos, osin, half[0], half[1], inv_mass,
            held_by, self._is_ramp, walls, (pos[0], pos[1]), (obj_pos[0], obj_pos[1]),
            pc, world.physics_iterations)
        # Agents standing on a box ride along with it ("box surfing") -- unless they are the
        # ones moving it: a box an agent holds already follows that agent. The ride is not the
        # agent's own velocity, or it would keep it after stepping off.
        support = core["agent_support"]
        on = support.clamp(min=0)
        move_x, move_y = ox - obj_pos[0], oy - obj_pos[1]
        rides = ((support >= 0) & (held_by.gather(0, on) != self._slots)).to(ax.dtype)
        core["agent_vel"] = torch.stack([(ax - pos[0]) / dt, (ay - pos[1]) / dt])
        ax = ax + move_x.gather(0, on) * rides
        ay = ay + move_y.gather(0, on) * rides
        agent_z, support = update_heights(ax, ay, core["agent_z"], ox, oy, ocos, osin, half[0],
                                          half[1], core["obj_present"], self._is_ramp, walls, pc)

        core["agent_pos"] = torch.stack([ax, ay])
        core["agent_z"], core["agent_support"] = agent_z, support
        core["agent_yaw"], core["agent_angvel"] = yaw, angvel
        moving = (~locked).to(ox.dtype) / dt
        core["obj_vel"] = torch.stack([move_x * moving, move_y * moving])
        core["obj_pos"], core["obj_yaw"] = torch.stack([ox, oy]), obj_yaw
        core["t"] = core["t"] + 1

        trig = Trig(torch.cos(yaw), torch.sin(yaw), ocos, osin)   # the yaws do not change again
        return core, trig, in_prep, new_grabs

    def _sense(self, core: Core, trig: Trig, in_prep: Tensor, new_grabs: Tensor):
        """Observations, rewards and statistics of the state :meth:`_move` produced."""
        world, sc = self.world, self._sc
        core = dict(core)
        planes, seen_agents, seen_objs = self._observe(core, trig)
        reward, hidden = rewards(core, seen_agents, in_prep, sc, world)
        accumulate_stats(core, reward, hidden, in_prep, new_grabs, world, sc)
        return core, planes, reward.t().contiguous(), hidden, seen_objs

    # ------------------------------------------------------------------ render
    def render(self, arena: int = 0, size: int = 400) -> np.ndarray:
        """Top-down RGB picture [size, size, 3] uint8 of one arena."""
        from .render import render_arena
        return render_arena(self.state, self._seen_objs.permute(2, 0, 1), arena, self.world, size)
