"""TwinSim: N hide-and-seek arenas stepped at once on one torch device.

The hot path is the pure step of ``hideseek.sim.step`` (core-layout tensors, no Python loop over
arenas, no host<->device transfer), run eagerly, under ``torch.compile`` (fused into a few loops
over the arenas, vectorised on a CPU) or replayed as one CUDA graph on a GPU. Wall geometry is
static within an episode and is computed when episodes start, not per step. Episodes end only at
the horizon, so the host knows from a step counter of its own when arenas must be reset --
auto-reset needs no device sync.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..contract import ACTION_BRANCHES, NOOP_ACTION, WorldConfig
from . import layouts
from .cuda_graph import GraphedFunction
from .physics import Walls, wall_geometry
from .rules import episode_stats
from .sensors import Trig
from .state import Core, SimState, core_assign, from_core, to_core
from .step import StepConstants, move, observations, sense
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


def reset_layouts(world: WorldConfig, n: int, seed: int | Sequence[int] | None,
                  current: Core | None, device: torch.device) -> Core:
    """The first state (core layout) of the episodes a reset starts: ``seed`` gives arena k
    ``seed + k`` (or the k-th of a list) from its first episode; None continues each arena of
    ``current`` with its next episode (seed 0 when there is none yet)."""
    if seed is None and current is not None:
        seeds, episodes = current["seed"], current["episode"] + 1
    else:
        seeds = _seed_tensor(0 if seed is None else seed, n, device)
        episodes = torch.zeros(n, dtype=torch.int64, device=device)
    return to_core(layouts.generate(world, seeds, episodes))


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
        self._k = StepConstants.of(world, self.device)
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
        self._move_fn, self._sense_fn, self._observe_fn = move, sense, observations
        if self._mode is not None:
            self._move_fn, self._sense_fn, self._observe_fn = (
                torch.compile(f, dynamic=False, mode=self._mode) for f in (move, sense, observations))
        self._graphs: tuple[GraphedFunction, GraphedFunction] | None = None
        if cuda_graph:   # the step and the reset-time observation never run at once: one pool
            pool = torch.cuda.graph_pool_handle()
            self._graphs = (GraphedFunction(self._step_fn, pool=pool),
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
        self._walls = wall_geometry(core["wall_a"], core["wall_b"], self._k.pc)

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
        self._set_core(reset_layouts(self.world, self.num_arenas, seed,
                                     getattr(self, "_core", None), self.device))
        self._t_host[:] = 0
        self._observe_all()
        return self._obs

    @property
    def steps_taken(self) -> np.ndarray:
        """Each arena's step in its current episode ([N] int64, on the host: no device sync)."""
        return self._t_host.copy()

    def start_from(self, arenas: Tensor, state: SimState) -> AgentObs:
        """Continue the arenas ``arenas`` ([K] int64) from ``state`` (a SimState of K arenas,
        e.g. states saved from earlier episodes, their step counters and statistic accumulators
        included) instead of where they are; each keeps its own seed and episode count, so the
        episodes after these continue its own layout stream. Returns the new observation."""
        arenas = torch.as_tensor(arenas, dtype=torch.int64, device=self.device)
        fresh = to_core(state)
        fresh["seed"], fresh["episode"] = self._core["seed"][arenas], self._core["episode"][arenas]
        self._restart(arenas, fresh)
        self._t_host[arenas.cpu().numpy()] = state.t.cpu().numpy()
        self._observe_all()
        return self._obs

    def _restart(self, arenas: Tensor, fresh: Core) -> None:
        """Overwrite the arenas ``arenas`` of the state with ``fresh`` (core layout)."""
        # The step's outputs may alias its inputs: copy before writing in place.
        self._core = {k: v.clone() for k, v in self._core.items()}
        core_assign(self._core, arenas, fresh)
        self._set_core(self._core)

    def observe(self) -> AgentObs:
        """Recompute observations from the state (after editing it by hand, e.g. in tests)."""
        self._set_core(self._core)
        self._observe_all()
        self._t_host[:] = self._core["t"].cpu().numpy()
        return self._obs

    def _observe_all(self) -> None:
        trig = Trig.of(self._core)
        if self._graphs is None:
            planes, _, self._seen_objs = self._run(self._observe_fn, self._k, self._core, trig)
        else:
            planes, _, seen_objs = self._graphs[1](self._k, self._core, trig)
            planes, self._seen_objs = _clone((planes, seen_objs))
        self._obs = self._agent_obs(planes)

    @property
    def obs(self) -> AgentObs:
        return self._obs

    def _agent_obs(self, planes: tuple[Tensor, ...]) -> AgentObs:
        """AgentObs from :func:`~hideseek.sim.step.observations`' tensors. The action mask is built
        here, outside the compiled step, as a row lookup: compiled code writes its 37-wide rows
        slowly."""
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
                self._step_fn, self._core, self._walls, actions, self._seen_objs)
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
        stats = {k: v.clone() for k, v in episode_stats(core, self.world, self._k.sc).items()}
        seeds, episodes = core["seed"], core["episode"] + 1
        if done.all():
            self._set_core(to_core(layouts.generate(self.world, seeds, episodes)))
        else:
            idx = torch.as_tensor(np.flatnonzero(done), device=self.device)
            self._core = core
            self._restart(idx, to_core(layouts.generate(self.world, seeds[idx], episodes[idx])))
        self._t_host[done] = 0
        self._observe_all()
        truncated = torch.as_tensor(done, device=self.device)
        return StepOutput(self._obs, reward, truncated, hidden, obs, stats)

    def _step_fn(self, core: Core, walls: Walls, actions: Tensor, seen_objs: Tensor):
        """:func:`~hideseek.sim.step.move` then :func:`~hideseek.sim.step.sense`, each as this
        simulator runs it (eager or compiled)."""
        return self._sense_fn(self._k, *self._move_fn(self._k, core, walls, actions, seen_objs))

    # ------------------------------------------------------------------ render
    def render(self, arena: int = 0, size: int = 400) -> np.ndarray:
        """Top-down RGB picture [size, size, 3] uint8 of one arena."""
        from .render import render_arena
        return render_arena(self.state, self._seen_objs.permute(2, 0, 1), arena, self.world, size)
