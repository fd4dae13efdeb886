"""The compiled and CUDA-graph twin steps against the eager one, on a fixed rollout that crosses
an auto-reset.

All run the same functions; under ``torch.compile`` the small entity dimensions are walked one
at a time (``hideseek.sim.geometry.chunks``) and the kernels are fused, so the results may
differ by float rounding only. The rollout keeps every step's outputs to the end, so it also
checks that a CUDA graph's next replay does not overwrite what an earlier step returned."""

import pytest
import torch

from hideseek.contract import ACTION_BRANCHES, load_world_config
from hideseek.sim import TwinSim

ARENAS, STEPS, HORIZON = 6, 14, 10
# One world for every test here: a simulator of the same world and batch size reuses the steps
# another one compiled (compiling the twin's step takes a minute or two on 2 cores).
WORLD = load_world_config("quadrant", {"horizon": HORIZON, "prep_fraction": 0.2})


def _rollout(compile, device="cpu", cuda_graph=False):
    world = WORLD
    sim = TwinSim(world, ARENAS, seed=21, compile=compile, device=device, cuda_graph=cuda_graph)
    g = torch.Generator().manual_seed(4)
    trace = []
    for _ in range(STEPS):
        acts = torch.stack([torch.randint(0, b, (ARENAS, world.max_agents), generator=g)
                            for b in ACTION_BRANCHES], -1)
        out = sim.step(acts.to(device))
        trace.append((out, {k: v.clone() for k, v in sim.state.tensors().items()}))
    return trace


# About two minutes of compiling each on the shared 2-vCPU VM: the CUDA-graph mode (which on a
# CPU only adds the copy-out path) runs with the slow tests.
@pytest.mark.parametrize("mode", [True, pytest.param("reduce-overhead", marks=pytest.mark.slow)])
def test_compiled_step_matches_eager(mode):
    _assert_same(_rollout(False), _rollout(mode))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_cuda_graph_step_matches_eager(compile):
    _assert_same(_rollout(False, "cuda"), _rollout(compile, "cuda", cuda_graph=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.slow
def test_compiled_cuda_graph_trees_match_eager():
    # torch.compile's own CUDA-graph mode, the default of compile=True on a GPU.
    _assert_same(_rollout(False, "cuda"), _rollout("reduce-overhead", "cuda"))


def test_cuda_graph_needs_a_cuda_device():
    with pytest.raises(ValueError, match="cuda_graph: needs a CUDA device, got cpu"):
        TwinSim(load_world_config("quadrant"), 2, cuda_graph=True)


def _assert_same(eager, compiled):
    for step, ((e, es), (c, cs)) in enumerate(zip(eager, compiled)):
        for name, x, y in zip(("obs_0", "obs_1", "obs_2", "obs_3", "state"),
                              e.obs.obs + (e.obs.state,), c.obs.obs + (c.obs.state,)):
            assert y.is_contiguous(), f"step {step}: {name} is not contiguous"
            torch.testing.assert_close(y, x, atol=2e-5, rtol=0, msg=f"step {step}: {name}")
        assert torch.equal(c.obs.action_mask, e.obs.action_mask), f"step {step}"
        assert torch.equal(c.reward, e.reward), f"step {step}"
        assert torch.equal(c.hidden, e.hidden), f"step {step}"
        assert torch.equal(c.truncated, e.truncated)
        assert (c.final_obs is None) == (e.final_obs is None)
        for k in es:
            torch.testing.assert_close(cs[k], es[k], atol=2e-5, rtol=0, msg=f"step {step}: {k}")
    assert any(e.final_obs is not None for e, _ in eager), "the rollout crosses a reset"


def test_simulators_of_one_world_and_size_share_one_compiled_step():
    # A second simulator (another seed, another instance) reuses the first one's graphs instead
    # of compiling again: many simulators never reach Dynamo's recompile limit, past which the
    # step would run eagerly.
    from torch._dynamo.utils import counters

    world = WORLD
    acts = torch.full((ARENAS, world.max_agents, len(ACTION_BRANCHES)), 1, dtype=torch.int64)
    TwinSim(world, ARENAS, seed=1, compile=True).step(acts)
    graphs = counters["stats"]["unique_graphs"]
    for seed in range(2, 12):
        TwinSim(world, ARENAS, seed=seed, compile=True).step(acts)
    assert counters["stats"]["unique_graphs"] == graphs
