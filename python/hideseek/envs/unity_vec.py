"""``UnityVecSim``: K Unity processes x their arenas behind the ``TwinSim`` API, for the trainer.

``reset``/``step`` return the same ``AgentObs``/``StepOutput`` torch tensors as
``hideseek.sim.TwinSim`` with N = K * arenas_per_env; arena ``k * arenas_per_env + j`` is arena j
of process k. The K processes are stepped concurrently from threads (gRPC and the mlagents Pipe
release the GIL while waiting).

Faults: a worker that exits, hangs past ``timeout_wait``, or sends NaN or malformed data raises
:class:`UnityWorkerError` naming the worker and its log file. ``step`` restarts it (at most
``max_restarts`` times per worker, like ``mlagents-learn --max-lifetime-restarts``) and drops its
partial episodes: those arenas come back ``truncated`` with the fresh episode's ``obs``, reward 0,
``final_obs`` = their last good observation, and ``self.dropped[arena] = True`` for that step.
``final_obs.action_mask`` is all True: ML-Agents' TerminalSteps carry no mask (no decision is
taken on a terminal observation). ``episode_stats`` only ever holds real episode results: arenas without them (dropped, or a build
that sent none) get the mean of the arenas that have them, and the field is None if none do.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..contract import AGENT_COLUMNS, EPISODE_STATS, ObsLayout, WorldConfig
from ..sim.types import AgentObs, StepOutput
from . import mlagents_compat
from . import side_channels as sc
from .unity_env import (DEFAULT_TIME_SCALE, TeamIndex, check_behavior_specs, close_at_exit,
                        make_side_channels, state_present, team_slots)

mlagents_compat.install()

from mlagents_envs.base_env import ActionTuple  # noqa: E402
from mlagents_envs.environment import UnityEnvironment  # noqa: E402
from mlagents_envs.exception import UnityWorkerInUseException  # noqa: E402

log = logging.getLogger(__name__)

MAX_PORT_TRIES = 64
GRPC_MAX_MESSAGE = 4 * 2 ** 20  # the trainer's gRPC server keeps the default receive limit
ArgsSpec = Sequence[str] | Callable[[int], Sequence[str]] | None


class UnityWorkerError(RuntimeError):
    """A Unity worker process failed. ``worker_id`` is its ML-Agents worker id (port offset)."""

    def __init__(self, message: str, worker_id: int, log_path: Path | None):
        self.worker_id, self.log_path, self.reason = worker_id, log_path, message
        where = f"log: {log_path}" if log_path is not None else "no log file"
        super().__init__(f"Unity worker {worker_id}: {message} ({where})")


@dataclass
class _Result:
    """One worker's step, as numpy arrays over its arenas."""

    obs: list[np.ndarray]                 # 4 x [n, A, ...]
    mask: np.ndarray                      # [n, A, M] bool, True = allowed
    state: np.ndarray                     # [n, S]
    reward: np.ndarray                    # [n, A]
    ended: np.ndarray                     # [n] bool
    final_obs: list[np.ndarray] | None = None
    final_state: np.ndarray | None = None
    stats: dict[str, np.ndarray] | None = None  # name -> [n], NaN where unknown
    dropped: np.ndarray | None = None     # [n] bool


@dataclass
class _Worker:
    index: int                 # position 0..K-1
    worker_id: int = -1
    env: UnityEnvironment | None = None
    log_path: Path | None = None
    restarts: int = 0
    channels: tuple = ()
    teams: dict[str, TeamIndex] = field(default_factory=dict)
    decisions: dict = field(default_factory=dict)
    last: _Result | None = None


def message_bytes(layout: ObsLayout, arenas: int) -> int:
    """Rough size of one Unity -> Python step message: float observations, mask and framing
    per agent, plus the critic state per arena (twice at an episode end)."""
    floats = sum(int(np.prod(s)) for s in layout.obs_shapes)
    per_agent = 4 * floats + layout.action_mask_size + 160
    return arenas * (layout.max_agents * per_agent * 2 + 2 * (4 * layout.state_size + 40))


def port_is_free(port: int) -> bool:
    """The check RpcCommunicator makes before it binds (SO_REUSEADDR, as it does, so ports in
    TIME_WAIT count as free). Checking first also avoids constructing a UnityEnvironment that
    fails half-way: it registers an atexit close that then raises at interpreter exit."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("localhost", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _shutdown(env: UnityEnvironment | None, grace: float) -> None:
    """Close ``env`` and kill its process after ``grace`` seconds. UnityEnvironment.close()
    waits ``timeout_wait`` for a hung player; its own error paths use ``_close(0)`` for that."""
    if env is None:
        return
    try:
        env._close(grace)
    except Exception as exc:  # closing a broken worker must not hide the original error
        log.warning("closing a Unity worker failed: %s", exc)


class UnityVecSim:
    """N = num_envs * arenas_per_env arenas in Unity processes, with the TwinSim API."""

    def __init__(self, file_name: str, num_envs: int, world: WorldConfig, seed: int = 0,
                 base_port: int = UnityEnvironment.BASE_ENVIRONMENT_PORT,
                 worker_id_start: int = 0, timeout_wait: int = 60, max_restarts: int = 3,
                 log_dir: str | Path | None = None, arenas_per_env: int = 1,
                 time_scale: float = DEFAULT_TIME_SCALE, device: str | torch.device = "cpu",
                 no_graphics: bool = True, additional_args: ArgsSpec = None):
        if num_envs < 1 or arenas_per_env < 1:
            raise ValueError(f"num_envs and arenas_per_env: expected >= 1, got {num_envs}, "
                             f"{arenas_per_env}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts: expected >= 0, got {max_restarts}")
        size = message_bytes(world.layout, arenas_per_env)
        if size > GRPC_MAX_MESSAGE:
            raise ValueError(f"arenas_per_env={arenas_per_env}: each Unity message would carry "
                             f"~{size / 2**20:.1f} MiB of observations, over gRPC's 4 MiB limit "
                             "on the trainer side; use more processes with fewer arenas each")
        self.file_name, self.world, self.layout = file_name, world, world.layout
        self.num_envs, self.arenas_per_env = num_envs, arenas_per_env
        self.num_arenas = num_envs * arenas_per_env
        self.device = torch.device(device)
        self.seed, self.base_port, self.timeout_wait = seed, base_port, timeout_wait
        self.max_restarts, self.time_scale, self.no_graphics = max_restarts, time_scale, no_graphics
        self._additional_args = additional_args
        self.log_dir = Path(log_dir) if log_dir is not None else Path(
            tempfile.mkdtemp(prefix="hideseek-unity-"))
        self.log_dir = self.log_dir.resolve()  # UnityEnvironment needs an absolute log folder
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.dropped = torch.zeros(self.num_arenas, dtype=torch.bool, device=self.device)
        self._next_worker_id = worker_id_start
        self._id_lock = threading.Lock()
        self._pool = cf.ThreadPoolExecutor(max_workers=num_envs, thread_name_prefix="unity")
        self._workers = [_Worker(k) for k in range(num_envs)]
        self._closed = False
        close_at_exit(self)
        try:
            self._parallel(self._launch, self._workers, raise_first=True)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ processes
    def _args(self, k: int) -> list[str]:
        spec = self._additional_args
        if spec is None:
            return []
        return list(spec(k) if callable(spec) else spec)

    def _claim_worker_id(self) -> int:
        with self._id_lock:
            wid = self._next_worker_id
            self._next_worker_id += 1
            return wid

    def _launch(self, w: _Worker) -> None:
        """Start worker ``w`` on the next free worker id (port in use -> next id)."""
        for _ in range(MAX_PORT_TRIES):
            wid = self._claim_worker_id()
            if not port_is_free(self.base_port + wid):
                log.warning("port %d (worker id %d) is in use; trying the next worker id",
                            self.base_port + wid, wid)
                continue
            params, stats, state, engine = make_side_channels(self.world, self.arenas_per_env,
                                                              self.time_scale)
            try:
                env = UnityEnvironment(
                    file_name=self.file_name, worker_id=wid, base_port=self.base_port,
                    seed=self._arena_seed(w, self.seed) if self.seed is not None else 0,
                    no_graphics=self.no_graphics, timeout_wait=self.timeout_wait,
                    additional_args=self._args(w.index), side_channels=[params, stats, state,
                                                                         engine],
                    log_folder=str(self.log_dir), num_areas=self.arenas_per_env)
            except UnityWorkerInUseException:  # taken between our check and its bind
                log.warning("port %d (worker id %d) is in use; trying the next worker id",
                            self.base_port + wid, wid)
                continue
            except Exception as exc:
                raise UnityWorkerError(f"failed to start {self.file_name!r}: {exc}", wid,
                                       self.log_dir / f"Player-{wid}.log") from exc
            w.worker_id, w.env = wid, env
            w.log_path = self.log_dir / f"Player-{wid}.log"
            w.channels = (params, stats, state)
            w.teams, w.decisions, w.last = {}, {}, None
            return
        raise UnityWorkerError(f"no free port in {self.base_port + self._next_worker_id - MAX_PORT_TRIES}"
                               f"..{self.base_port + self._next_worker_id - 1}; pass another "
                               "base_port or worker_id_start", self._next_worker_id - 1, None)

    def _arena_seed(self, w: _Worker, seed: int) -> int:
        """Arena seeds follow TwinSim: global arena n gets seed + n. A restarted worker shifts
        them so it does not replay the episodes it already played."""
        return (int(seed) + w.index * self.arenas_per_env + 100_003 * w.restarts) % sc.MAX_FLOAT_SEED

    def _parallel(self, fn, workers: Sequence[_Worker], *args, raise_first: bool = False
                  ) -> dict[int, object]:
        """Run ``fn(worker, *args)`` for each worker concurrently; returns index -> result or the
        UnityWorkerError it raised (raised at once with ``raise_first``)."""
        if len(workers) == 1:  # no thread hop: it costs a context switch per step
            out = {workers[0].index: self._guard(fn, workers[0], *args)}
        else:
            futures = {w.index: self._pool.submit(self._guard, fn, w, *args) for w in workers}
            out = {k: f.result() for k, f in futures.items()}
        if raise_first:
            for r in out.values():
                if isinstance(r, UnityWorkerError):
                    raise r
        return out

    @staticmethod
    def _guard(fn, w: _Worker, *args):
        try:
            return fn(w, *args)
        except UnityWorkerError as exc:
            return exc
        except Exception as exc:  # mlagents exceptions, NaN RuntimeError, protocol errors
            err = UnityWorkerError(f"{type(exc).__name__}: {exc}", w.worker_id, w.log_path)
            err.__cause__ = exc
            return err

    # ------------------------------------------------------------------ reading
    def _reset_worker(self, w: _Worker, seed: int | None) -> _Result:
        params, _, _ = w.channels
        if seed is not None:
            params.set_float_parameter(sc.SEED_KEY, float(self._arena_seed(w, seed)))
        w.env.reset()
        if not w.teams:
            source = f"Unity worker {w.worker_id}"
            check_behavior_specs(w.env.behavior_specs, self.layout, source)
            for behavior, (first, per_team) in team_slots(self.layout).items():
                decision, _ = w.env.get_steps(behavior)
                w.teams[behavior] = TeamIndex.build(behavior, decision.agent_id,
                                                    self.arenas_per_env, first, per_team, source)
        w.channels[1].get_and_reset_stats()
        w.last = self._read(w)
        return w.last

    def _step_worker(self, w: _Worker, actions: np.ndarray) -> _Result:
        source = f"Unity worker {w.worker_id}"
        for behavior, team in w.teams.items():
            decision = w.decisions[behavior]
            arena, slot = team.locate(decision.agent_id, source)
            w.env.set_actions(behavior, ActionTuple(discrete=actions[arena, slot].astype(np.int32)))
        w.env.step()
        w.last = self._read(w)
        return w.last

    def _read(self, w: _Worker) -> _Result:
        lay, n = self.layout, self.arenas_per_env
        a, source = lay.max_agents, f"Unity worker {w.worker_id}"
        obs = [np.zeros((n, a) + s, np.float32) for s in lay.obs_shapes]
        mask = np.ones((n, a, lay.action_mask_size), bool)
        reward = np.zeros((n, a), np.float32)
        seen = np.zeros((n, a), bool)
        ended = np.zeros(n, bool)
        final = [np.zeros_like(o) for o in obs]
        for behavior, team in w.teams.items():
            decision, terminal = w.env.get_steps(behavior)
            w.decisions[behavior] = decision
            ar, sl = team.locate(decision.agent_id, source)
            for o, d in zip(obs, decision.obs):
                o[ar, sl] = d
            if decision.action_mask is not None:
                mask[ar, sl] = ~np.concatenate(decision.action_mask, axis=1)
            reward[ar, sl] = decision.reward + decision.group_reward
            seen[ar, sl] = True
            if len(terminal):
                tar, tsl = team.locate(terminal.agent_id, source)
                for o, d in zip(final, terminal.obs):
                    o[tar, tsl] = d
                reward[tar, tsl] = terminal.reward + terminal.group_reward
                ended[tar] = True
        if not seen.all():
            k, s = np.argwhere(~seen)[0]
            raise sc_error(f"agent slot {s} of arena {k} requested no decision", source)
        state = np.zeros((n, lay.state_size), np.float32)
        final_state = state.copy()
        got = np.zeros(n, bool)
        for msg in w.channels[2].pop_messages():
            if not 0 <= msg.arena < n or msg.state.shape != (lay.state_size,):
                raise sc_error(f"global state for arena {msg.arena} with {msg.state.size} floats "
                               f"(expected arenas 0..{n - 1}, {lay.state_size} floats)", source)
            if not got[msg.arena]:
                final_state[msg.arena] = msg.state  # first message: the ended episode's last
            state[msg.arena] = msg.state
            got[msg.arena] = True
        if not got.all():
            raise sc_error(f"no global state for arenas {np.flatnonzero(~got).tolist()}", source)
        if not np.isfinite(state).all() or not np.isfinite(final_state).all():
            raise sc_error("global state had NaN or infinite values", source)
        result = _Result(obs, mask, state, reward, ended)
        if ended.any():
            for f, o in zip(final, obs):  # final_obs of arenas still running = their obs
                f[~ended] = o[~ended]
            result.final_obs, result.final_state = final, final_state
            result.stats = self._stats(w, ended)
        return result

    def _stats(self, w: _Worker, ended: np.ndarray) -> dict[str, np.ndarray]:
        """Unity sends each ended arena's statistics in arena order."""
        values = sc.episode_stats(w.channels[1].get_and_reset_stats())
        out = {}
        ks = np.flatnonzero(ended)
        for name in EPISODE_STATS:
            arr = np.full(self.arenas_per_env, np.nan, np.float32)
            got = values.get(name, [])
            if len(got) == len(ks):
                arr[ks] = got
            elif got:
                log.warning("Unity worker %d sent %d values of %s for %d ended arenas; ignored",
                            w.worker_id, len(got), name, len(ks))
            out[name] = arr
        return out

    # ------------------------------------------------------------------ faults
    def _recover(self, w: _Worker, error: UnityWorkerError, seed: int | None) -> _Result:
        """Restart a failed worker (again if the restart fails) and report its arenas as
        dropped episodes."""
        previous = w.last
        while True:
            if w.restarts >= self.max_restarts:
                raise UnityWorkerError(f"{error.reason} -- giving up after {w.restarts} restarts",
                                       error.worker_id, error.log_path) from error
            log.error("%s; restarting (restart %d of %d)", error, w.restarts + 1,
                      self.max_restarts)
            _shutdown(w.env, 0)
            w.env = None
            w.restarts += 1
            fresh = self._guard(self._restart, w, self.seed if seed is None else seed)
            if not isinstance(fresh, UnityWorkerError):
                break
            error = fresh
        fresh.reward = np.zeros_like(fresh.reward)
        fresh.ended = np.ones(self.arenas_per_env, bool)
        fresh.dropped = np.ones(self.arenas_per_env, bool)
        if previous is not None:
            fresh.final_obs, fresh.final_state = previous.obs, previous.state
        else:
            fresh.final_obs, fresh.final_state = fresh.obs, fresh.state
        fresh.stats = {name: np.full(self.arenas_per_env, np.nan, np.float32)
                       for name in EPISODE_STATS}
        return fresh

    def _restart(self, w: _Worker, seed: int) -> _Result:
        self._launch(w)
        return self._reset_worker(w, seed)

    def _run(self, fn, *args, seed: int | None = None) -> list[_Result]:
        results = self._parallel(fn, self._workers, *args)
        out = []
        for w in self._workers:
            r = results[w.index]
            if isinstance(r, UnityWorkerError):
                r = self._recover(w, r, seed)
            out.append(r)
        return out

    # ------------------------------------------------------------------ TwinSim API
    def reset(self, seed: int | Sequence[int] | None = None) -> AgentObs:
        """New episodes everywhere. ``seed`` (int): global arena n gets ``seed + n`` as in
        TwinSim (through the twin's ``seed`` parameter; a Unity build keeps its own seeding)."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError("UnityVecSim.reset: seed must be an int or None (per-arena seed "
                            f"lists are not supported through the protocol), got {type(seed)}")
        self._check_open()
        results = self._run(self._reset_worker, seed, seed=seed)
        self.dropped = torch.zeros(self.num_arenas, dtype=torch.bool, device=self.device)
        return self._agent_obs([r.obs for r in results], [r.mask for r in results],
                               [r.state for r in results])

    def step(self, actions: torch.Tensor) -> StepOutput:
        expected = (self.num_arenas, self.layout.max_agents, len(self.layout.action_branches))
        if tuple(actions.shape) != expected:
            raise ValueError(f"actions: expected shape {expected}, got {tuple(actions.shape)}")
        self._check_open()
        acts = actions.detach().to("cpu", torch.int64).numpy()
        per = self.arenas_per_env
        chunks = {w.index: acts[w.index * per:(w.index + 1) * per] for w in self._workers}
        results = self._run(lambda w: self._step_worker(w, chunks[w.index]))
        return self._step_output(results)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("UnityVecSim is closed")

    # ------------------------------------------------------------------ assembling
    def _tensor(self, arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(arrays)).to(self.device)

    def _agent_obs(self, obs: list[list[np.ndarray]], mask: list[np.ndarray],
                   state: list[np.ndarray]) -> AgentObs:
        flat_obs = [self._tensor([o[i] for o in obs]) for i in range(4)]
        flat_state = np.concatenate(state)
        present = torch.from_numpy(state_present(flat_state, self.layout)).to(self.device)
        return AgentObs(*flat_obs, self._tensor(mask), torch.from_numpy(flat_state).to(self.device),
                        present)

    def _step_output(self, results: list[_Result]) -> StepOutput:
        obs = self._agent_obs([r.obs for r in results], [r.mask for r in results],
                              [r.state for r in results])
        ended = np.concatenate([r.ended for r in results])
        dropped = np.concatenate([r.dropped if r.dropped is not None
                                  else np.zeros_like(r.ended) for r in results])
        self.dropped = torch.from_numpy(dropped).to(self.device)
        reward = self._tensor([r.reward for r in results])
        final_obs, stats = None, None
        final_np = [r.final_obs if r.final_obs is not None else r.obs for r in results]
        if ended.any():
            final_state = [r.final_state if r.final_state is not None else r.state
                           for r in results]
            final_obs = self._agent_obs(final_np, [np.ones_like(r.mask) for r in results],
                                        final_state)
            stats = self._merge_stats(results, ended)
        hidden = torch.from_numpy(hidden_from_obs(np.concatenate([f[1] for f in final_np]),
                                                  self.layout)).to(self.device)
        return StepOutput(obs, reward, torch.from_numpy(ended).to(self.device), hidden,
                          final_obs, stats)

    def _merge_stats(self, results: list[_Result], ended: np.ndarray
                     ) -> dict[str, torch.Tensor] | None:
        out = {}
        for name in EPISODE_STATS:
            arr = np.concatenate([r.stats[name] if r.stats is not None
                                  else np.full(self.arenas_per_env, np.nan, np.float32)
                                  for r in results])
            valid = ended & np.isfinite(arr)
            if not valid.any():
                return None
            arr = np.where(valid, arr, arr[valid].mean()).astype(np.float32)
            out[name] = torch.from_numpy(arr).to(self.device)
        return out

    # ------------------------------------------------------------------ misc
    @property
    def restarts(self) -> list[int]:
        return [w.restarts for w in self._workers]

    @property
    def worker_ids(self) -> list[int]:
        return [w.worker_id for w in self._workers]

    @property
    def log_paths(self) -> list[Path | None]:
        return [w.log_path for w in self._workers]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        futures = [self._pool.submit(_shutdown, w.env, 10) for w in self._workers if w.env]
        for f in futures:
            f.result()
        for w in self._workers:
            w.env = None
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "UnityVecSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sc_error(message: str, source: str) -> RuntimeError:
    return RuntimeError(f"{source}: {message}")



def hidden_from_obs(obs_1: np.ndarray, layout: ObsLayout) -> np.ndarray:
    """StepOutput.hidden [N] from the post-step ``obs_1`` [N, A, A-1, 10] (the final one for
    ended arenas): no seeker has a present hider row. Vision decides both the observation rows
    and the reward (WORLD.md "Vision"), so this is the twin's ``hidden``."""
    present_col = AGENT_COLUMNS.index("present")
    hider_col = AGENT_COLUMNS.index("is_hider")
    seekers = obs_1[:, layout.max_hiders:]
    sees = (seekers[..., present_col] > 0.5) & (seekers[..., hider_col] > 0.5)
    return ~sees.reshape(len(obs_1), -1).any(-1)
