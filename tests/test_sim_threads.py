"""pick_threads: a measured choice among the candidates, and torch's thread count left alone."""

import pytest
import torch

from hideseek.contract import load_world_config
from hideseek.sim import pick_threads
from hideseek.sim.threads import thread_candidates


def test_pick_threads_measures_each_candidate_and_restores_the_thread_count():
    before = torch.get_num_threads()
    world = load_world_config("quadrant")
    best = pick_threads(world, 8, steps=1, candidates=[1, 2])
    assert best in (1, 2)
    assert torch.get_num_threads() == before


def test_thread_candidates_are_powers_of_two_within_the_limit():
    assert thread_candidates(1) == [1]
    cands = thread_candidates(4)
    assert cands[0] == 1 and all(b == 2 * a for a, b in zip(cands, cands[1:])) and cands[-1] <= 4


@pytest.mark.parametrize("kwargs, message", [({"steps": 0}, "steps: expected >= 1"),
                                             ({"candidates": [0]}, "candidates: expected")])
def test_pick_threads_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pick_threads(load_world_config("quadrant"), 4, **kwargs)


def test_fastest_threads_passes_the_best_so_far_and_takes_the_minimum():
    """A measurement may give up (inf) once it is slower than the best so far."""
    import math

    from hideseek.sim.threads import fastest_threads

    before = torch.get_num_threads()
    seen = []

    def measure(best: float) -> float:
        seen.append((torch.get_num_threads(), best))
        return {1: 2.0, 2: math.inf}[torch.get_num_threads()]

    assert fastest_threads(measure, [1, 2]) == (1, {1: 2.0, 2: math.inf})
    assert seen == [(1, math.inf), (2, 2.0)]
    assert torch.get_num_threads() == before
