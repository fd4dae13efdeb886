"""Play many evaluation episodes at once: episode e of an evaluation with seed s is arena e of a
batched simulator (in rounds of at most ``max_arenas``) reset with seed s + e, which lays it out
exactly as the one-arena episode ``env.reset(seed=s + e)`` (the twin's layouts come from a
counter RNG of the arena's seed and episode). Each team's :class:`TeamActor` decides for all
arenas in one call per step.

The simulator is an argument, not built here: an instance with ``TwinSim``'s API
(:class:`Simulator`), or a factory ``(num_arenas, seed) -> simulator`` (:data:`SimFactory`, e.g.
:func:`twin_factory`) from which the runner builds one of the size it needs. Another backend
plugs in by passing its own.
"""

from __future__ import annotations

from typing import Callable, Mapping, Protocol, Sequence

import torch
from torch import Tensor

from ..contract import NOOP_ACTION, TEAMS, WorldConfig
from ..sim.types import AgentObs, StepOutput
from .actors import TeamActor
from .statistics import Episode


class Simulator(Protocol):
    """What the runner needs of a simulator: ``TwinSim``'s batched API with auto-reset."""

    world: WorldConfig
    num_arenas: int
    device: torch.device

    @property
    def layout(self): ...

    def reset(self, seed: int | None = None) -> AgentObs: ...

    def step(self, actions: Tensor) -> StepOutput: ...


SimFactory = Callable[[int, int], Simulator]   # (num_arenas, seed) -> a simulator


class StepObserver(Protocol):
    """Sees an evaluation as it is played (e.g. :class:`hideseek.replay.ReplayRecorder`)."""

    def start_round(self, sim: Simulator, first_episode: int, seeds: list[int]) -> None:
        """Arena k of the round plays episode ``first_episode + k`` with seed ``seeds[k]``."""

    def before_step(self, sim: Simulator, obs: AgentObs) -> None:
        """``sim.state`` and ``obs`` are the world the next actions are chosen in."""

    def after_step(self, sim: Simulator, out: StepOutput) -> None:
        """The step's result (rewards; statistics where ``out.truncated``)."""


def twin_factory(world: WorldConfig, device: str | torch.device = "cpu") -> SimFactory:
    """Eager ``TwinSim``s of ``world``: compiling would cost more than an evaluation takes."""
    def make(num_arenas: int, seed: int) -> Simulator:
        from ..sim import TwinSim
        return TwinSim(world, num_arenas, device=device, seed=seed)
    return make


def check_teams(actors: Mapping[str, TeamActor]) -> None:
    if sorted(actors) != sorted(TEAMS):
        raise ValueError(f"actors: expected one per team {list(TEAMS)}, got {sorted(actors)}")
    for team, actor in actors.items():
        if not isinstance(actor, TeamActor):
            raise TypeError(f"actors[{team!r}]: expected a TeamActor (begin_episodes and act), "
                            f"got {type(actor).__name__}")


def run_episodes(sim: Simulator | SimFactory, actors: Mapping[str, TeamActor], episodes: int,
                 seed: int = 0, max_arenas: int = 1024,
                 observers: Sequence[StepObserver] = ()) -> list[Episode]:
    """Play ``episodes`` episodes (episode e with seed ``seed + e``) and return their statistics
    in episode order. ``sim`` is a simulator (played in rounds of its own arena count; arenas
    beyond the last round's episodes play unused) or a factory (rounds of up to ``max_arenas``
    arenas). The actors' randomness comes from one ``torch.Generator`` seeded with ``seed``:
    sampled play repeats exactly for the same seed and round size (its draws are per arena),
    deterministic play for any round size."""
    if episodes < 1:
        raise ValueError(f"episodes: expected at least 1, got {episodes}")
    if max_arenas < 1:
        raise ValueError(f"max_arenas: expected at least 1, got {max_arenas}")
    check_teams(actors)
    factory = None if hasattr(sim, "step") else sim
    instance = None if factory is not None else sim
    results: list[Episode] = []
    generator = None
    while len(results) < episodes:
        first = len(results)
        count = min(episodes - first, max_arenas if factory is not None else instance.num_arenas)
        if factory is not None and (instance is None or instance.num_arenas != count):
            instance = factory(count, seed + first)
        if generator is None:
            generator = torch.Generator(device=instance.device).manual_seed(seed)
        results.extend(_play_round(instance, actors, first, seed, generator, observers)[:count])
    return results


def _play_round(sim: Simulator, actors: Mapping[str, TeamActor], first: int, seed: int,
                generator: torch.Generator, observers: Sequence[StepObserver]) -> list[Episode]:
    """One episode in every arena of ``sim`` (arena k: seed ``seed + first + k``)."""
    n, layout = sim.num_arenas, sim.layout
    obs = sim.reset(seed + first)
    for observer in observers:
        observer.start_round(sim, first, [seed + first + k for k in range(n)])
    slots = {team: layout.team_slice(team) for team in TEAMS}
    every = torch.ones(n, dtype=torch.bool, device=sim.device)
    for team, actor in actors.items():
        actor.begin_episodes(sim, every, slots[team])
    noop = torch.tensor(NOOP_ACTION, dtype=torch.int64, device=sim.device)
    stats: list[Episode | None] = [None] * n
    ended = torch.zeros(n, dtype=torch.bool)
    # Episodes end at the horizon; a simulator that ends none by twice that is broken.
    for _ in range(2 * sim.world.horizon):
        actions = noop.repeat(n, layout.max_agents, 1)
        for team, actor in actors.items():
            actions[:, slots[team]] = actor.act(sim, obs, slots[team], generator)
        for observer in observers:
            observer.before_step(sim, obs)
        out = sim.step(actions)
        for observer in observers:
            observer.after_step(sim, out)
        obs = out.obs
        if out.final_obs is None:
            continue
        done = out.truncated.cpu()
        _keep_first_ends(stats, done & ~ended, out, first)
        ended |= done
        if bool(ended.all()):
            return stats  # type: ignore[return-value]
        for team, actor in actors.items():   # arenas past their episode play on, unrecorded
            actor.begin_episodes(sim, done.to(sim.device), slots[team])
    raise RuntimeError(f"evaluation: arenas {torch.nonzero(~ended).view(-1).tolist()} did not end "
                       f"an episode within {2 * sim.world.horizon} steps (horizon "
                       f"{sim.world.horizon})")


def _keep_first_ends(stats: list[Episode | None], new: Tensor, out: StepOutput,
                     first: int) -> None:
    """Store the statistics of arenas whose first episode ended at this step (one transfer)."""
    if not bool(new.any()):
        return
    if out.valid is not None and not bool(out.valid.cpu()[new].all()):
        lost = torch.nonzero(new & ~out.valid.cpu()).view(-1).tolist()
        raise RuntimeError(f"evaluation: the simulator lost the episodes of arenas {lost} "
                           f"(episodes {[first + a for a in lost]}); they cannot be replayed "
                           "with the same seeds")
    names = list(out.episode_stats)
    table = torch.stack([out.episode_stats[k].float().cpu() for k in names], 1).tolist()
    for arena in torch.nonzero(new).view(-1).tolist():
        stats[arena] = dict(zip(names, table[arena]))
