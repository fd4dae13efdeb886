"""Actor / critic networks: shapes, padding invariance, masks, recurrence, ONNX-friendly ops."""

from __future__ import annotations

import io

import pytest
import torch

from hideseek.config_io import ConfigError, build
from hideseek.contract import load_world_config
from hideseek.models import (Actor, BranchIndex, Critic, ModelConfig, action_log_prob, entity_mask,
                             entropy, masked_logits, sample_actions, split_branches)


@pytest.fixture(scope="module")
def layout():
    return load_world_config("quadrant").layout


def _obs(layout, batch: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    obs = [torch.randn(batch, *s, generator=g) for s in layout.obs_shapes]
    obs[1][:, 0] = 0.0  # one agent row not visible
    obs[2][:, 1] = 0.0  # one box row not visible
    return obs


@pytest.mark.parametrize("recurrent", ["none", "gru", "lstm"])
def test_actor_shapes_and_memory(layout, recurrent):
    torch.manual_seed(0)
    actor = Actor(layout, ModelConfig(recurrent=recurrent, embed_dim=16, hidden=32))
    obs = _obs(layout, 5)
    logits, memory = actor(*obs)
    assert logits.shape == (5, layout.action_mask_size)
    if recurrent == "none":
        assert actor.memory_size == 0 and memory is None
    else:
        expected = 32 * (2 if recurrent == "lstm" else 1)
        assert actor.memory_size == expected and memory.shape == (5, 1, expected)
        # The memory matters: a different memory gives different logits.
        logits2, _ = actor(*obs, memory + 1.0)
        assert not torch.allclose(logits, logits2)


def test_attention_ignores_padding_rows(layout):
    """With the padding mask fixed, whatever sits in padded rows changes nothing."""
    torch.manual_seed(0)
    actor = Actor(layout, ModelConfig(embed_dim=16, hidden=32, attention_layers=2))
    obs = _obs(layout, 4)
    ents = list(obs[1:])
    masks = [entity_mask(e) for e in ents]
    base = actor.trunk(obs[0], ents, masks)
    garbage = [torch.where(m.unsqueeze(-1), e, torch.randn_like(e) * 100) for e, m in zip(ents, masks)]
    assert torch.equal(actor.trunk(obs[0], garbage, masks), base)
    # And the real rows do matter.
    changed = [e.clone() for e in ents]
    changed[1][:, 0] += 1.0
    assert not torch.allclose(actor.trunk(obs[0], changed, masks), base)


def test_padding_slots_equal_fewer_slots():
    """An arena with a padded box slot gives the same logits as an arena without that slot:
    embeddings are per entity type, so the same weights fit both layouts."""
    big = load_world_config("quadrant", {"n_boxes": [1, 2]}).layout
    small = load_world_config("quadrant", {"n_boxes": 1}).layout
    torch.manual_seed(0)
    a_big = Actor(big, ModelConfig(embed_dim=16, hidden=32))
    a_small = Actor(small, ModelConfig(embed_dim=16, hidden=32))
    a_small.load_state_dict(a_big.state_dict())
    obs = _obs(big, 3)
    obs[2][:, 0] = torch.randn(3, obs[2].shape[-1]).abs() + 0.1
    obs[2][:, 1] = 0.0
    obs_small = [obs[0], obs[1], obs[2][:, :1], obs[3]]
    torch.testing.assert_close(a_big(*obs)[0], a_small(*obs_small)[0], rtol=0, atol=1e-6)


def test_normalizer_lives_in_actor_and_changes_output(layout):
    torch.manual_seed(0)
    actor = Actor(layout, ModelConfig(embed_dim=16, hidden=32))
    obs = _obs(layout, 6)
    before = actor(*obs)[0]
    actor.update_normalizer((obs[0] * 3 + 1, obs[1] * 3, obs[2] * 3, obs[3] * 3))
    assert "norm_self.mean" in actor.state_dict()
    assert not torch.allclose(actor(*obs)[0], before)
    # Padding rows are not counted in the entity statistics.
    assert actor.norm_entities[1].count.item() == pytest.approx(6.0)


def test_masks_never_violated():
    bi = BranchIndex((11, 11, 11, 2, 2))
    g = torch.Generator().manual_seed(1)
    batch = 512
    logits = torch.randn(batch, 37, generator=g) * 5
    mask = torch.rand(batch, 37, generator=g) < 0.3
    # At least one allowed action per branch.
    for s, n in zip((0, 11, 22, 33, 35), (11, 11, 11, 2, 2)):
        first = torch.randint(0, n, (batch,), generator=g)
        mask[torch.arange(batch), s + first] = True
    logp = bi.log_probs(logits, mask)
    for _ in range(5):
        actions = sample_actions(logp, g)
        picked = bi.grid(mask, False).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        assert picked.all()
    # Masked actions have (numerically) zero probability; log-probs are finite.
    assert torch.isfinite(action_log_prob(logp, actions)).all()
    probs = logp.exp()
    assert float(probs[~bi.grid(mask, False)].max()) == 0.0
    torch.testing.assert_close(probs.sum(-1), torch.ones(batch, 5))


def test_log_prob_entropy_hand_values():
    bi = BranchIndex((3, 2))
    logits = torch.tensor([[0.0, 0.0, 5.0, 1.0, 1.0]])
    mask = torch.tensor([[True, True, False, True, True]])
    logp = bi.log_probs(logits, mask)
    lp = action_log_prob(logp, torch.tensor([[1, 0]]))
    assert lp.item() == pytest.approx(2 * torch.log(torch.tensor(0.5)).item(), abs=1e-6)
    assert entropy(logp).item() == pytest.approx(2 * 0.6931472, abs=1e-5)
    # One allowed action in every branch: the agent cannot act.
    assert bi.can_act(mask).tolist() == [True]
    forced = torch.tensor([[False, True, False, True, False]])
    assert bi.can_act(forced).tolist() == [False]
    assert entropy(bi.log_probs(logits, forced)).item() == pytest.approx(0.0, abs=1e-6)


def test_split_and_masked_logits():
    x = torch.arange(37.0).unsqueeze(0)
    parts = split_branches(x, (11, 11, 11, 2, 2))
    assert [p.shape[-1] for p in parts] == [11, 11, 11, 2, 2] and parts[3].tolist() == [[33.0, 34.0]]
    m = torch.zeros(1, 37, dtype=torch.bool)
    m[0, 3] = True
    out = masked_logits(x, m)
    assert out[0, 3] == 3.0 and out[0, 4] <= -1e8 + 4  # ML-Agents: logits * m - 1e8 * (1 - m)


def test_critic_values_every_agent_in_one_pass_and_sees_the_walls():
    from hideseek.sim import TwinSim
    world = load_world_config("quadrant", {"lidar_rays": 4})
    lay = world.layout
    torch.manual_seed(0)
    critic = Critic(lay, ModelConfig(embed_dim=16, hidden=32))
    state = TwinSim(world, 3, seed=0).obs.state
    v = critic(state)
    assert v.shape == (3, lay.max_agents, 2)
    assert not torch.allclose(v[:, 0], v[:, -1])  # each agent gets its own value
    walls = lay.state_slices()["walls"]
    moved = state.clone()
    moved[:, walls] = moved[:, walls] * 0.5       # the same agents and objects, other walls
    assert not torch.allclose(critic(moved), v)
    # An absent (all-zero) wall row is padding: it never changes the value.
    rows = moved[:, walls].view(3, world.max_walls, -1)
    absent = (rows.abs().amax(-1) == 0)
    assert absent.any(), "the quadrant layouts merge wall pieces where a door is closed"


def test_bad_model_config_names_the_field():
    with pytest.raises(ConfigError, match=r"model\.num_heads"):
        build(ModelConfig, {"embed_dim": 10, "num_heads": 3}, "train.yaml")
    with pytest.raises(ConfigError, match="recurrent"):
        build(ModelConfig, {"recurrent": "transformer"}, "train.yaml")


def test_actor_exports_with_plain_ops(layout):
    onnx = pytest.importorskip("onnx")
    actor = Actor(layout, ModelConfig(embed_dim=16, hidden=32, recurrent="gru")).eval()
    obs = _obs(layout, 2)
    mem = torch.zeros(2, 1, actor.memory_size)
    buf = io.BytesIO()
    torch.onnx.export(actor, (*obs, mem), buf, dynamo=False, opset_version=15,
                      input_names=["obs_0", "obs_1", "obs_2", "obs_3", "recurrent_in"])
    ops = {n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node}
    allowed = {"Abs", "Add", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Div",
               "Gather", "Gemm", "Greater", "Identity", "MatMul", "Mul", "Pow", "ReduceMax",
               "ReduceMean", "ReduceSum", "Relu", "Reshape", "Shape", "Slice", "Softmax", "Sqrt",
               "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where", "GRU", "LSTM"}
    assert ops <= allowed, ops - allowed
