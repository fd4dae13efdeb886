"""``RaySampler``: the trainer's rollouts from ``RolloutWorker`` actors on a Ray cluster.

Synchronous PPO with a bounded policy lag. Policy version v is the learner's update count. A
round puts the actors' weights into the object store once and sends the reference to every idle
worker with v; each returns one whole fragment. With ``max_policy_lag >= 1`` the next round is
dispatched before ``sample`` returns, i.e. before the learner updates on this one, so sampling
overlaps the update and every fragment is one version old when trained on; with 0 it is
dispatched only when asked for (exact on-policy). A fragment older than ``max_policy_lag`` is
dropped, never trained on.

Stragglers: ``sample`` waits up to ``sample_timeout`` for every worker, then trains on what
arrived if it is at least ``min_fraction`` of the arenas; a late worker keeps running and its
fragment counts in a later round if it is still fresh enough. Faults: a worker whose task
raises, whose process or node dies, or that has been busy longer than ``hang_timeout`` is
killed (``ray.kill(no_restart=False)``) and Ray restarts it (``max_restarts=-1``); nothing it
half-produced is used (a fragment is one return value: it arrives whole or not at all). Each
worker has ``max_worker_restarts``; past that, :class:`RolloutWorkerError` (the trainer saves a
checkpoint and stops).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .buffer import RolloutBuffer
from .config_io import ConfigError
from .contract import WorldConfig
from .models import ModelConfig
from .ray_worker import (WORKER_FAULTS, RolloutWorker, WorkerFault, WorkerSpec,
                         contract_fingerprint, to_numpy_state)
from .sampling import Opponents

# Ray's raylet then kills every process a dead worker spawned (Unity players start their own
# session, so process-group cleanup would miss them). Applies to a Ray that this process starts;
# a cluster started with `ray start` needs it in the environment of `ray start` (docs/ray.md).
SUBREAPER_ENV = "RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper"


class RolloutWorkerError(RuntimeError):
    """A Ray rollout worker failed more often than its restart budget allows."""

    def __init__(self, message: str, worker: int):
        self.worker = worker
        super().__init__(f"Ray rollout worker {worker}: {message}")


@dataclass(frozen=True)
class RayConfig:
    """How rollouts run on Ray (command-line flags of ``hideseek train --ray``)."""

    address: str = "local"          # "local" (start one here), "auto" or a cluster address
    workers: int = 2
    envs_per_worker: int = 1        # Unity processes per worker
    env: str = "twin"               # "twin" (in-process twin arenas) or a Unity build path
    max_policy_lag: int = 1
    sample_timeout: float = 60.0    # seconds to wait for all workers before training on part
    min_fraction: float = 0.5       # of the arenas, needed to train without the stragglers
    hang_timeout: float = 300.0     # seconds a worker may stay busy before it is killed
    max_worker_restarts: int = 3
    worker_cpus: float = 1.0
    worker_threads: int = 1
    step_sleep_ms: float = 0.0      # twin workers: Unity-like step cost (benchmarks)
    unity_args: tuple[str, ...] = ()
    max_env_restarts: int = 3
    timeout_wait: int = 60
    base_port: int = 5005
    faults: tuple[WorkerFault, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> None:
            raise ConfigError("ray options", name, getattr(self, name), rule)

        if not self.address:
            bad("address", "local, auto or a Ray address such as 10.0.0.1:6379")
        for name in ("workers", "envs_per_worker", "worker_threads", "timeout_wait", "base_port"):
            if getattr(self, name) < 1:
                bad(name, "an integer >= 1")
        for name in ("max_policy_lag", "max_worker_restarts", "max_env_restarts"):
            if getattr(self, name) < 0:
                bad(name, "an integer >= 0")
        for name in ("sample_timeout", "hang_timeout", "worker_cpus"):
            if not getattr(self, name) > 0:
                bad(name, "a number > 0")
        if not 0 < self.min_fraction <= 1:
            bad("min_fraction", "a fraction in (0, 1]")
        if not self.step_sleep_ms >= 0:
            bad("step_sleep_ms", "milliseconds >= 0")
        if self.env == "twin" and self.envs_per_worker != 1:
            raise ConfigError("ray options", "envs_per_worker", self.envs_per_worker,
                              "1 with the in-process twin (Unity processes need --env PATH)")
        if self.hang_timeout < self.sample_timeout:
            bad("hang_timeout", f"at least sample_timeout ({self.sample_timeout})")
        for f in self.faults:
            if f.kind not in WORKER_FAULTS:
                raise ConfigError("ray options", "faults", f, "kinds " + ", ".join(WORKER_FAULTS))


@dataclass
class _Slot:
    """The driver's view of one worker."""

    index: int
    handle: Any
    incarnation: int = 0
    restarts: int = 0
    pending: Any = None           # ObjectRef of the fragment in flight
    probe: Any = None             # ObjectRef of ``where`` after a restart: alive again?
    version: int = -1             # policy version it was dispatched with
    since: float = 0.0            # when it was dispatched (or restarted)


@dataclass
class _Round:
    fragments: dict[int, dict] = field(default_factory=dict)   # worker -> fragment
    dropped_stale: int = 0
    failures: int = 0


def connect(address: str, workers: int, worker_cpus: float) -> bool:
    """Join (``auto``, an address) or start (``local``) Ray unless this process already is
    connected; returns whether it connected (and so should disconnect at the end)."""
    import ray

    if ray.is_initialized():
        return False
    if address == "local":
        os.environ.setdefault(SUBREAPER_ENV, "true")
        # Workers mostly wait on their environment: let all of them run even on a small machine.
        cpus = max(os.cpu_count() or 1, math.ceil(workers * worker_cpus))
        ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


class RaySampler:
    """N arenas in ``workers`` blocks, one ``RolloutWorker`` actor each (docs/ray.md)."""

    def __init__(self, cfg: RayConfig, world: WorldConfig, model: ModelConfig,
                 actors: dict[str, torch.nn.Module], seed: int, steps: int, num_arenas: int,
                 device: torch.device, log_dir: str | Path = ""):
        import ray

        if num_arenas % cfg.workers:
            raise ConfigError("command line", "--workers", cfg.workers,
                              f"a divisor of num_arenas ({num_arenas}): every worker plays "
                              "the same number of arenas")
        per = num_arenas // cfg.workers
        if cfg.env != "twin" and per % cfg.envs_per_worker:
            raise ConfigError("command line", "--envs-per-worker", cfg.envs_per_worker,
                              f"a divisor of the {per} arenas per worker (num_arenas "
                              f"{num_arenas} / {cfg.workers} workers)")
        self.cfg, self.world, self.layout = cfg, world, world.layout
        self.actors, self.device = actors, torch.device(device)
        self.num_arenas, self.arenas_per_worker, self.steps = num_arenas, per, steps
        self.timings: dict[str, float] = {}
        self._stats: dict[str, float] = {}
        self._owns_ray = connect(cfg.address, cfg.workers, cfg.worker_cpus)
        self._ray = ray
        # Enough port ids per incarnation for every Unity process and its restarts (+ slack for
        # ports found taken).
        port_ids = cfg.envs_per_worker * (cfg.max_env_restarts + 1) + 8
        remote = ray.remote(RolloutWorker).options(
            max_restarts=-1, max_task_retries=0, num_cpus=cfg.worker_cpus,
            scheduling_strategy="SPREAD")
        self.slots: list[_Slot] = []
        for i in range(cfg.workers):
            spec = WorkerSpec(
                index=i, world=world, model=model, arenas=per, first_arena=i * per, steps=steps,
                seed=seed, env=cfg.env, envs_per_worker=cfg.envs_per_worker,
                unity_args=tuple(cfg.unity_args), max_env_restarts=cfg.max_env_restarts,
                timeout_wait=cfg.timeout_wait, base_port=cfg.base_port,
                port_ids_per_incarnation=port_ids, incarnations=cfg.max_worker_restarts + 1,
                log_dir=str(log_dir), step_sleep_ms=cfg.step_sleep_ms,
                threads=cfg.worker_threads, faults=tuple(cfg.faults),
                contract=contract_fingerprint(world))
            self.slots.append(_Slot(i, remote.remote(spec)))
        self.round = 0
        self.total_restarts = 0
        self.total_dropped = 0
        self.dropped_stamps: list[dict] = []  # stamps of fragments dropped as too old
        self.last_stamps: list[dict] = []     # stamps of the last batch, in worker order
        self._start_all()

    def _start_all(self) -> None:
        """Start every worker and its environment now, so that no round's ``sample_timeout``
        pays for process start-up (Unity players take seconds)."""
        ray = self._ray
        refs = [s.handle.start.remote(0) for s in self.slots]
        ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=self.cfg.hang_timeout)
        if waiting:
            late = [i for i, r in enumerate(refs) if r in waiting]
            self.close()
            raise RolloutWorkerError(f"did not start within hang_timeout "
                                     f"({self.cfg.hang_timeout:g} s); workers {late} waited "
                                     "for (cluster resources? see `ray status`)", late[0])
        for i, r in enumerate(refs):
            try:
                ray.get(r)
            except ray.exceptions.RayError as exc:
                self.close()
                raise RolloutWorkerError(f"failed to start: {_first_line(exc)}", i) from None

    # ------------------------------------------------------------------ the round
    def sample(self, version: int, opponents: Opponents) -> RolloutBuffer:
        t0 = time.perf_counter()
        weights = self._weights(opponents)
        in_flight = any(s.pending is not None or s.probe is not None for s in self.slots)
        if self.cfg.max_policy_lag == 0 or not in_flight:
            self._dispatch(weights, version)
        t1 = time.perf_counter()
        rnd = self._gather(version, weights)
        t2 = time.perf_counter()
        if self.cfg.max_policy_lag >= 1:
            # Round k+1 goes out before the learner updates on round k: it overlaps the update.
            self._dispatch(weights, version)
        t3 = time.perf_counter()
        buf = self._assemble(rnd)
        t4 = time.perf_counter()
        stamps = [rnd.fragments[i]["stamp"] for i in sorted(rnd.fragments)]
        lags = [version - s["version"] for s in stamps]
        self.timings = {"dispatch": (t1 - t0) + (t3 - t2), "wait": t2 - t1,
                        "assemble": t4 - t3, "sample": t4 - t0,
                        "worker_sample": sum(s["sample_s"] for s in stamps) / len(stamps),
                        "sim": sum(s["sim_s"] for s in stamps) / len(stamps)}
        self._stats = {"ray/fragments": float(len(stamps)),
                       "ray/arena_fraction": buf.arenas / self.num_arenas,
                       "ray/lag_mean": sum(lags) / len(lags), "ray/lag_max": float(max(lags)),
                       "ray/dropped_stale": float(rnd.dropped_stale),
                       "ray/failures": float(rnd.failures),
                       "ray/restarts": float(self.total_restarts),
                       "ray/env_restarts": float(sum(s["env_restarts"] for s in stamps)),
                       "ray/wait_s": t2 - t1}
        self.last_stamps = stamps
        return buf

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def reset(self, seed: int) -> None:
        """Nothing to do: a worker starts fresh episodes (seeded by its block and incarnation)
        when it starts, and a resumed run starts new workers."""

    def _weights(self, opponents: Opponents):
        """One object-store copy of the weights for the whole round (workers read it in place)."""
        payload = {"actors": to_numpy_state(self.actors),
                   "opponents": {team: (to_numpy_state({"a": actor})["a"], k)
                                 for team, (actor, k) in opponents.items()}}
        return self._ray.put(payload)

    def _dispatch(self, weights, version: int) -> None:
        self.round += 1
        for s in self.slots:
            if s.pending is None and s.probe is None:
                self._send(s, weights, version)

    def _send(self, s: _Slot, weights, version: int) -> None:
        s.pending = s.handle.sample.remote(weights, version, self.round, s.incarnation)
        s.version, s.since = version, time.monotonic()

    def _gather(self, version: int, weights) -> _Round:
        """Fragments of this round: every worker, or after ``sample_timeout`` at least
        ``min_fraction`` of the arenas. Failed, hung and stale workers are refilled at once
        with ``version``, so they can still count."""
        ray, cfg = self._ray, self.cfg
        rnd = _Round()
        deadline = time.monotonic() + cfg.sample_timeout
        need = math.ceil(cfg.min_fraction * cfg.workers)
        while True:
            pending = {s.pending: s for s in self.slots if s.pending is not None}
            probes = {s.probe: s for s in self.slots if s.probe is not None}
            now = time.monotonic()
            if not pending and not probes or (now >= deadline and len(rnd.fragments) >= need):
                break
            # Wake at the deadline, or when the oldest task reaches the hang limit.
            wake = min(s.since + cfg.hang_timeout for s in [*pending.values(), *probes.values()])
            if now < deadline:
                wake = min(wake, deadline)
            ready, _ = ray.wait([*pending, *probes], num_returns=1,
                                timeout=max(wake - now, 0.01))
            for ref in ready:
                if ref in probes:
                    self._probed(probes[ref], ref, version, weights)
                else:
                    self._receive(pending[ref], ref, version, weights, rnd)
            now = time.monotonic()
            for s in self.slots:
                busy = s.pending is not None or s.probe is not None
                if busy and now - s.since > cfg.hang_timeout:
                    self._restart(s, f"busy for {now - s.since:.0f} s (hang_timeout "
                                     f"{cfg.hang_timeout:g} s)", kill=True)
                    rnd.failures += 1
        if not rnd.fragments:
            # Unreachable with min_fraction > 0 unless every worker keeps failing; the restart
            # budget ends that, this guards the assembly.
            raise RolloutWorkerError("no fragment arrived", -1)
        return rnd

    def _receive(self, s: _Slot, ref, version: int, weights, rnd: _Round) -> None:
        ray = self._ray
        s.pending = None
        try:
            frag = ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # process or node died (Ray restarts it)
            self._restart(s, f"died ({type(exc).__name__})", kill=False)
            rnd.failures += 1
            return
        except ray.exceptions.RayError as exc:  # the task raised: its state is suspect
            self._restart(s, f"failed: {_first_line(exc)}", kill=True)
            rnd.failures += 1
            return
        if version - frag["stamp"]["version"] > self.cfg.max_policy_lag:
            rnd.dropped_stale += 1
            self.total_dropped += 1
            self.dropped_stamps.append(frag["stamp"])
            self._send(s, weights, version)
            return
        rnd.fragments[s.index] = frag

    def _probed(self, s: _Slot, ref, version: int, weights) -> None:
        """A restarted worker started (send it work), or its old process answered (ask again:
        a call made right after ``ray.kill`` may still reach the dying process)."""
        try:
            self._ray.get(ref)
        except self._ray.exceptions.RayActorError:
            s.probe = s.handle.start.remote(s.incarnation)
            return
        except self._ray.exceptions.RayError as exc:  # its environment failed to start
            self._restart(s, f"failed to start: {_first_line(exc)}", kill=True)
            return
        s.probe = None
        self._send(s, weights, version)

    def _restart(self, s: _Slot, why: str, kill: bool) -> None:
        """Count a restart of worker ``s`` (killing it first: Ray then restarts it); it gets
        work again once it answers a probe."""
        if s.restarts >= self.cfg.max_worker_restarts:
            raise RolloutWorkerError(f"{why}; giving up after {s.restarts} restarts "
                                     f"(max_worker_restarts {self.cfg.max_worker_restarts})",
                                     s.index)
        if kill:
            self._ray.kill(s.handle, no_restart=False)
        s.pending = None
        s.restarts += 1
        s.incarnation += 1
        self.total_restarts += 1
        s.probe = s.handle.start.remote(s.incarnation)  # also starts its environment
        s.since = time.monotonic()

    def _assemble(self, rnd: _Round) -> RolloutBuffer:
        """One buffer, in worker order. Fragments are read in place from the object store
        (read-only); the joined buffer is new memory, a lone fragment is copied."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            parts = [RolloutBuffer.from_numpy(rnd.fragments[i]["arrays"], self.device)
                     for i in sorted(rnd.fragments)]
        if len(parts) == 1 and self.device.type == "cpu":
            parts = [RolloutBuffer.from_numpy({k: v.copy() for k, v in
                                               rnd.fragments[min(rnd.fragments)]["arrays"].items()},
                                              self.device)]
        return RolloutBuffer.concat(parts)

    # ------------------------------------------------------------------ misc
    @property
    def restarts(self) -> list[int]:
        return [s.restarts for s in self.slots]

    def where(self) -> list[dict]:
        """Node and process of every worker (waits for them to start)."""
        return self._ray.get([s.handle.where.remote() for s in self.slots])

    def close(self) -> None:
        """Close the workers' environments (Unity processes), then end the actors."""
        ray = self._ray
        if not self.slots:
            return
        closing = [s.handle.close.remote() for s in self.slots]
        ray.wait(closing, num_returns=len(closing), timeout=30)
        for s in self.slots:
            ray.kill(s.handle, no_restart=True)
        self.slots = []
        if self._owns_ray:
            ray.shutdown()


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__

