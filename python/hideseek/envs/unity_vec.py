"""``UnityVecSim``: K Unity processes x their arenas behind the ``TwinSim`` API, for the trainer.

``reset``/``step`` return the same ``AgentObs``/``StepOutput`` torch tensors as
``hideseek.sim.TwinSim`` with N = K * arenas_per_env; arena ``k * arenas_per_env + j`` is arena j
of process k. The K processes are stepped concurrently from threads (gRPC and the mlagents Pipe
release the GIL while waiting).

Steps are decoded by :class:`hideseek.envs.unity_reader.UnityConnection`, the reader
``UnityParallelEnv`` uses too.

Faults: a worker that exits, hangs past ``timeout_wait``, or sends NaN or malformed data raises
:class:`UnityWorkerError` naming the worker and its log file. ``step`` restarts it (at most
``max_restarts`` times per worker, like ``mlagents-learn --max-lifetime-restarts``) and drops its
partial episodes. The step of those arenas was NOT observed, and nothing is made up for it:
``StepOutput.valid`` is False there (``self.dropped`` True), ``truncated`` is True and ``obs`` is
the fresh episode's first observation; their reward (0), ``final_obs`` (their last observed one)
and ``episode_stats`` (0) only keep the tensors finite and must not be learned from or counted.
``valid`` is None when every arena's step was observed.

``final_obs.action_mask`` is all True: ML-Agents' TerminalSteps carry no mask (no decision is
taken on a terminal observation). ``episode_stats`` holds only real episode results: it is None
when an observed arena ended without its statistics (a build that sends none), never filled in.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..contract import AGENT_COLUMNS, EPISODE_STATS, ObsLayout, WorldConfig
from ..sim.types import AgentObs, StepOutput
from . import mlagents_compat
from . import side_channels as sc
from .unity_reader import (DEFAULT_TIME_SCALE, StepBatch, UnityConnection, UnityError,
                           UnityPortInUse, close_at_exit, port_is_free, state_present)

mlagents_compat.install()

from mlagents_envs.environment import UnityEnvironment  # noqa: E402
from mlagents_envs.exception import UnityWorkerInUseException  # noqa: E402

log = logging.getLogger(__name__)

MAX_PORT_TRIES = 64
GRPC_MAX_MESSAGE = 4 * 2 ** 20  # the trainer's gRPC server keeps the default receive limit
ArgsSpec = Sequence[str] | Callable[[int], Sequence[str]] | None


class UnityWorkerError(UnityError):
    """A Unity worker process failed. ``worker_id`` is its ML-Agents worker id (port offset)."""

    def __init__(self, message: str, worker_id: int, log_path: Path | None):
        self.worker_id, self.log_path, self.reason = worker_id, log_path, message
        where = f"log: {log_path}" if log_path is not None else "no log file"
        super().__init__(f"Unity worker {worker_id}: {message} ({where})")


@dataclass
class _Result:
    """One worker's step: the decoded batch, and which of its arenas were observed."""

    batch: StepBatch
    valid: np.ndarray          # [n] bool


@dataclass
class _Worker:
    index: int                 # position 0..K-1
    worker_id: int = -1
    unity: UnityConnection | None = None
    log_path: Path | None = None
    restarts: int = 0
    last: StepBatch | None = None


def message_bytes(layout: ObsLayout, arenas: int) -> int:
    """Rough size of one Unity -> Python step message: float observations, mask and framing
    per agent, plus the critic state per arena (twice at an episode end)."""
    floats = sum(int(np.prod(s)) for s in layout.obs_shapes)
    per_agent = 4 * floats + layout.action_mask_size + 160
    return arenas * (layout.max_agents * per_agent * 2 + 2 * (4 * layout.state_size + 40))


def _shutdown(unity: UnityConnection | None, grace: float) -> None:
    """Close ``unity`` and kill its process after ``grace`` seconds."""
    if unity is None:
        return
    try:
        unity.close(grace)
    except Exception as exc:  # closing a broken worker must not hide the original error
        log.warning("closing a Unity worker failed: %s", exc)


class UnityVecSim:
    """N = num_envs * arenas_per_env arenas in Unity processes, with the TwinSim API."""

    def __init__(self, file_name: str, num_envs: int, world: WorldConfig, seed: int = 0,
                 base_port: int = UnityEnvironment.BASE_ENVIRONMENT_PORT,
                 worker_id_start: int = 0, timeout_wait: int = 60, max_restarts: int = 3,
                 log_dir: str | Path | None = None, arenas_per_env: int = 1,
                 time_scale: float = DEFAULT_TIME_SCALE, device: str | torch.device = "cpu",
                 no_graphics: bool = True, additional_args: ArgsSpec = None,
                 bind_address: str | None = None):
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
        self.bind_address = mlagents_compat.resolve_bind_address(bind_address)
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
            try:
                unity = UnityConnection(
                    self.file_name, self.world, self.arenas_per_env, worker_id=wid,
                    base_port=self.base_port,
                    seed=self._arena_seed(w, self.seed) if self.seed is not None else 0,
                    no_graphics=self.no_graphics, timeout_wait=self.timeout_wait,
                    time_scale=self.time_scale, log_folder=str(self.log_dir),
                    additional_args=self._args(w.index), bind_address=self.bind_address)
            except (UnityWorkerInUseException, UnityPortInUse):  # taken since our check
                log.warning("port %d (worker id %d) is in use; trying the next worker id",
                            self.base_port + wid, wid)
                continue
            except Exception as exc:
                raise UnityWorkerError(f"failed to start {self.file_name!r}: {exc}", wid,
                                       self.log_dir / f"Player-{wid}.log") from exc
            w.worker_id, w.unity, w.last = wid, unity, None
            w.log_path = self.log_dir / f"Player-{wid}.log"
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
        w.last = w.unity.reset(None if seed is None else self._arena_seed(w, seed))
        return _Result(w.last, np.ones(self.arenas_per_env, bool))

    def _step_worker(self, w: _Worker, actions: np.ndarray) -> _Result:
        w.last = w.unity.step(actions)
        return _Result(w.last, np.ones(self.arenas_per_env, bool))

    # ------------------------------------------------------------------ faults
    def _recover(self, w: _Worker, error: UnityWorkerError, seed: int | None) -> _Result:
        """Restart a failed worker (again if the restart fails). Its arenas' step was not
        observed: they come back invalid, truncated, with the fresh episodes' first observation;
        everything else about that step is a finite placeholder (module docstring)."""
        previous = w.last
        while True:
            if w.restarts >= self.max_restarts:
                raise UnityWorkerError(f"{error.reason} -- giving up after {w.restarts} restarts",
                                       error.worker_id, error.log_path) from error
            log.error("%s; restarting (restart %d of %d)", error, w.restarts + 1,
                      self.max_restarts)
            _shutdown(w.unity, 0)
            w.unity = None
            w.restarts += 1
            fresh = self._guard(self._restart, w, self.seed if seed is None else seed)
            if not isinstance(fresh, UnityWorkerError):
                break
            error = fresh
        batch = fresh.batch
        last = previous if previous is not None else batch
        n = self.arenas_per_env
        placeholder = StepBatch(
            obs=batch.obs, mask=batch.mask, state=batch.state,
            reward=np.zeros_like(batch.reward), ended=np.ones(n, bool),
            interrupted=np.ones(n, bool), final_obs=last.obs, final_state=last.state,
            stats={name: np.zeros(n, np.float32) for name in EPISODE_STATS}, other_stats={})
        return _Result(placeholder, np.zeros(n, bool))

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
        results = [r.batch for r in self._run(self._reset_worker, seed, seed=seed)]
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
        batches = [r.batch for r in results]
        valid = np.concatenate([r.valid for r in results])
        self.dropped = torch.from_numpy(~valid).to(self.device)
        obs = self._agent_obs([b.obs for b in batches], [b.mask for b in batches],
                              [b.state for b in batches])
        ended = np.concatenate([b.ended for b in batches])
        reward = self._tensor([b.reward for b in batches])
        final_obs, stats = None, None
        if ended.any():
            final_obs = self._agent_obs([b.final_obs for b in batches],
                                        [np.ones_like(b.mask) for b in batches],
                                        [b.final_state for b in batches])
            stats = self._merge_stats(batches, ended, valid)
        hidden = torch.from_numpy(hidden_from_obs(
            np.concatenate([b.final_obs[1] for b in batches]), self.layout)).to(self.device)
        return StepOutput(obs, reward, torch.from_numpy(ended).to(self.device), hidden,
                          final_obs, stats,
                          valid=None if valid.all() else torch.from_numpy(valid).to(self.device))

    def _merge_stats(self, batches: list[StepBatch], ended: np.ndarray, valid: np.ndarray
                     ) -> dict[str, torch.Tensor] | None:
        """Statistics of the episodes that really ended here, or None if one of them came
        without (nothing is filled in). Arenas that did not end, or are invalid, hold 0."""
        n = self.arenas_per_env
        out = {}
        for name in EPISODE_STATS:
            arr = np.concatenate([b.stats[name] if b.stats is not None
                                  else np.full(n, np.nan, np.float32) for b in batches])
            real = ended & valid
            if not real.any() or not np.isfinite(arr[real]).all():
                return None
            out[name] = torch.from_numpy(np.where(real, arr, 0.0).astype(np.float32)).to(self.device)
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
        futures = [self._pool.submit(_shutdown, w.unity, 10) for w in self._workers if w.unity]
        for f in futures:
            f.result()
        for w in self._workers:
            w.unity = None
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "UnityVecSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def hidden_from_obs(obs_1: np.ndarray, layout: ObsLayout) -> np.ndarray:
    """StepOutput.hidden [N] from the post-step ``obs_1`` [N, A, A-1, 10] (the final one for
    ended arenas): no seeker has a present hider row. Vision decides both the observation rows
    and the reward (WORLD.md "Vision"), so this is the twin's ``hidden``."""
    present_col = AGENT_COLUMNS.index("present")
    hider_col = AGENT_COLUMNS.index("is_hider")
    seekers = obs_1[:, layout.max_hiders:]
    sees = (seekers[..., present_col] > 0.5) & (seekers[..., hider_col] > 0.5)
    return ~sees.reshape(len(obs_1), -1).any(-1)
