"""``RolloutWorker``: one arena block played on a Ray worker (``hideseek.ray_sampler`` drives it).

A worker owns either a batch of twin arenas (in its own process) or ``UnityVecSim`` over E Unity
processes on its node, plus CPU copies of the actors. One ``sample`` call = one whole fragment
(T steps of its arenas) returned as numpy arrays with its stamps; the weights come in once per
round from the object store. The class is plain Python: ``RaySampler`` makes it an actor with
``ray.remote(RolloutWorker).options(max_restarts=-1, max_task_retries=0, ...)`` so Ray restarts a
dead worker but never silently re-runs a rollout.

The simulator is built lazily by the first ``sample`` of an incarnation (the driver counts
incarnations: a restarted actor re-runs ``__init__`` and cannot know how often it died). Each
incarnation gets its own port range and its own seeds, and first kills Unity processes a previous
incarnation of the same worker left on this node (a SIGKILLed actor cannot close them).
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .contract import EPISODE_STATS, WorldConfig
from .learner import policy_groups
from .models import Actor, ModelConfig
from .rollout import Collector
from .sampling import block_opponents, block_seeds

WORKER_FAULTS = ("exit", "raise", "hang", "slow")
INCARNATION_SEED_STRIDE = 100_003  # as UnityVecSim shifts a restarted process's arena seeds


@dataclass(frozen=True)
class WorkerFault:
    """Fault injection for tests and benchmarks: worker ``worker`` in incarnation ``incarnation``
    fails once, at its first call of round ``round`` or later (a busy worker skips rounds):
    ``exit`` (the process dies), ``raise`` (the task raises), ``hang`` (the task never
    returns), ``slow`` (it first sleeps ``seconds``)."""

    worker: int
    round: int
    kind: str
    incarnation: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to rebuild itself after a restart (pickled into the actor)."""

    index: int
    world: WorldConfig
    model: ModelConfig
    arenas: int                     # arenas of this worker (its block)
    first_arena: int                # global index of its first arena
    steps: int                      # T, steps per fragment
    seed: int                       # the run's seed; the block's seeds follow block_seeds
    env: str = "twin"               # "twin" (in-process) or the path of a Unity build
    envs_per_worker: int = 1        # Unity processes (env != "twin")
    unity_args: tuple[str, ...] = ()
    max_env_restarts: int = 3       # UnityVecSim's per-process restart budget
    timeout_wait: int = 60          # seconds UnityVecSim waits for a Unity step
    base_port: int = 5005
    port_ids_per_incarnation: int = 16  # worker ids (ports) one incarnation may use
    incarnations: int = 4           # incarnations whose port ranges are reserved per worker
    log_dir: str = ""               # Unity logs: <log_dir>/worker-<index>
    step_sleep_ms: float = 0.0      # twin only: sleep per step, a Unity-like step cost
    threads: int = 1                # torch threads of the worker
    faults: tuple[WorkerFault, ...] = field(default_factory=tuple)
    contract: tuple = ()            # the driver's contract_fingerprint(world)

    def worker_id_start(self, incarnation: int) -> int:
        """First ML-Agents worker id (port = base_port + id) of this worker's incarnation.
        Ranges of different workers and incarnations never overlap, so Unity processes of all
        workers on one node get distinct ports even across restarts (ids wrap after
        ``incarnations``; UnityVecSim skips a port that is still taken)."""
        per_worker = self.port_ids_per_incarnation * self.incarnations
        return 1 + self.index * per_worker + (incarnation % self.incarnations) * \
            self.port_ids_per_incarnation


def contract_fingerprint(world: WorldConfig) -> tuple:
    """What a fragment's arrays depend on in this code: statistic names and the layout. A node
    running other code than the driver (another checkout, a stale install) differs here."""
    lay = world.layout
    return (tuple(EPISODE_STATS), tuple(map(tuple, lay.obs_shapes)), lay.state_size,
            tuple(lay.action_branches), lay.action_mask_size, lay.max_agents)


class StepCost:
    """A simulator whose every step also sleeps ``ms`` milliseconds: what a Unity step costs
    (rendering, PhysX) without its CPU use, so scaling over workers shows on a small machine."""

    def __init__(self, sim, ms: float):
        self.sim, self.seconds = sim, ms / 1000.0
        self.layout, self.num_arenas, self.device = sim.layout, sim.num_arenas, sim.device

    def reset(self, seed=None):
        return self.sim.reset(seed)

    def step(self, actions):
        time.sleep(self.seconds)
        return self.sim.step(actions)

    def close(self) -> None:
        close = getattr(self.sim, "close", None)
        if close is not None:
            close()


def to_numpy_state(actors: dict[str, torch.nn.Module]) -> dict[str, dict[str, np.ndarray]]:
    """Actor weights as numpy (what goes into the object store: read there without a copy)."""
    return {name: {k: v.detach().cpu().numpy().copy() for k, v in a.state_dict().items()}
            for name, a in actors.items()}


def _load(actor: torch.nn.Module, state: dict[str, np.ndarray]) -> None:
    # torch.tensor copies: object-store arrays are read-only.
    actor.load_state_dict({k: torch.tensor(v) for k, v in state.items()})


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command, which may contain spaces) is the parent.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class RolloutWorker:
    """One arena block on one Ray worker process."""

    def __init__(self, spec: WorkerSpec):
        mine = contract_fingerprint(spec.world)
        if spec.contract and tuple(spec.contract) != mine:
            def digest(fp: tuple) -> str:
                return hashlib.sha1(repr(fp).encode()).hexdigest()[:10]

            raise RuntimeError(f"worker {spec.index} runs other hideseek code than the trainer "
                               f"(statistics and layout {digest(mine)} here, "
                               f"{digest(tuple(spec.contract))} in the trainer): install the "
                               "same checkout at the same path on every node")
        self.spec = spec
        torch.set_num_threads(spec.threads)
        self.incarnation = -1
        self.collector: Collector | None = None
        self.sim = None
        self.seeds = None
        layout = spec.world.layout
        self.groups = policy_groups(layout, spec.model.shared_policy)
        self.actors = {name: Actor(layout, spec.model).eval() for name in self.groups}
        self.frozen: dict[str, Actor] = {}
        self._fired: set[WorkerFault] = set()
        self._pid_file = self._pid_path()

    # ------------------------------------------------------------------ set-up
    def _pid_path(self) -> Path:
        job = "local"
        try:
            import ray
            if ray.is_initialized():
                job = ray.get_runtime_context().get_job_id()
        except Exception:  # outside Ray (tests of the plain class): one file per worker index
            pass
        folder = Path(tempfile.gettempdir()) / f"hideseek-ray-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"job-{job}-worker-{self.spec.index}.pids"

    def _kill_leftovers(self) -> None:
        """Unity processes of an earlier incarnation of this worker on this node (its actor was
        SIGKILLed, so nothing closed them): they would hold ports and CPU."""
        if self.spec.env == "twin" or not self._pid_file.exists():
            return
        for line in self._pid_file.read_text().split():
            pid = int(line)
            # Every Unity player (and the twin player) gets --mlagents-port from ML-Agents: a
            # pid reused by an unrelated process since is left alone.
            if "--mlagents-port" in _cmdline(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._pid_file.unlink(missing_ok=True)

    def _setup(self, incarnation: int) -> None:
        self.close()
        self._kill_leftovers()
        spec = self.spec
        seeds = block_seeds(spec.seed, spec.index, spec.arenas)
        shift = INCARNATION_SEED_STRIDE * incarnation  # a restart does not replay its episodes
        self.seeds = (seeds.sim + shift, seeds.sample + shift)
        if spec.env == "twin":
            from .sim import TwinSim
            sim = TwinSim(spec.world, spec.arenas, device="cpu", seed=self.seeds[0])
            if spec.step_sleep_ms > 0:
                sim = StepCost(sim, spec.step_sleep_ms)
        else:
            from .envs.unity_vec import UnityVecSim
            if spec.arenas % spec.envs_per_worker:
                raise ValueError(f"worker {spec.index}: {spec.arenas} arenas do not split over "
                                 f"{spec.envs_per_worker} Unity processes")
            log_dir = Path(spec.log_dir or tempfile.mkdtemp(prefix="hideseek-unity-")) / \
                f"worker-{spec.index}"
            sim = UnityVecSim(spec.env, spec.envs_per_worker, spec.world, seed=self.seeds[0],
                              base_port=spec.base_port,
                              worker_id_start=spec.worker_id_start(incarnation),
                              timeout_wait=spec.timeout_wait, max_restarts=spec.max_env_restarts,
                              log_dir=log_dir, arenas_per_env=spec.arenas // spec.envs_per_worker,
                              additional_args=list(spec.unity_args))
            self._pid_file.write_text("\n".join(str(p) for p in _children_of(os.getpid())))
        gen = torch.Generator().manual_seed(self.seeds[1])
        self.sim = sim
        self.collector = Collector(sim, self.actors, self.groups, gen, spec.steps)
        self.collector.reset(self.seeds[0])
        self.incarnation = incarnation

    # ------------------------------------------------------------------ the call
    def sample(self, weights: dict, version: int, round_no: int, incarnation: int) -> dict:
        """One fragment of T steps played by ``weights`` (policy ``version``). ``weights`` =
        ``{"actors": {group: state}, "opponents": {team: (state, arenas)}}``, the opponents'
        arena counts on global arenas. Returns ``{"arrays": RolloutBuffer.to_numpy(),
        "stamp": {...}}``."""
        self._inject(round_no, incarnation)
        self.start(incarnation)
        started = time.perf_counter()
        for name, state in weights["actors"].items():
            _load(self.actors[name], state)
        opponents = {}
        for team, (state, k) in weights["opponents"].items():
            if team not in self.frozen:
                self.frozen[team] = Actor(self.spec.world.layout, self.spec.model).eval()
            _load(self.frozen[team], state)
            opponents[team] = (self.frozen[team], k)
        buf = self.collector.collect(block_opponents(opponents, self.spec.first_arena,
                                                     self.spec.arenas))
        arrays = buf.to_numpy()
        env_restarts = sum(getattr(self.sim, "restarts", []) or [])
        stamp = {"worker": self.spec.index, "incarnation": incarnation, "version": version,
                 "round": round_no, "sim_seed": self.seeds[0], "sample_seed": self.seeds[1],
                 "first_arena": self.spec.first_arena, "arenas": self.spec.arenas,
                 "env_restarts": int(env_restarts), "node": _node_id(), "pid": os.getpid(),
                 "sample_s": time.perf_counter() - started,
                 "sim_s": self.collector.timings.get("sim", 0.0),
                 "finished_at": time.time()}
        return {"arrays": arrays, "stamp": stamp}

    def _inject(self, round_no: int, incarnation: int) -> None:
        for f in self.spec.faults:
            if (f.worker, f.incarnation) != (self.spec.index, incarnation) \
                    or round_no < f.round or f in self._fired:
                continue
            self._fired.add(f)
            if f.kind == "exit":
                os._exit(1)
            if f.kind == "raise":
                raise RuntimeError(f"injected fault in worker {f.worker} at round {f.round}")
            if f.kind == "hang":
                time.sleep(10 ** 6)
            if f.kind == "slow":
                time.sleep(f.seconds)

    def start(self, incarnation: int) -> dict:
        """Build the simulator of ``incarnation`` (if not built yet); -> :meth:`where`."""
        if self.collector is None or incarnation != self.incarnation:
            self._setup(incarnation)
        return self.where()

    def where(self) -> dict:
        """Node and process of this worker, and its environment's processes."""
        return {"node": _node_id(), "pid": os.getpid(), "worker": self.spec.index,
                "env_pids": _children_of(os.getpid()) if self.spec.env != "twin" else []}

    def close(self) -> None:
        if self.sim is not None:
            close = getattr(self.sim, "close", None)
            if close is not None:
                close()
            self.sim = self.collector = None
            if self._pid_file.exists():
                self._pid_file.unlink(missing_ok=True)


def _node_id() -> str:
    try:
        import ray
        if ray.is_initialized():
            return ray.get_runtime_context().get_node_id()
    except Exception:
        pass
    return "local"
