"""MAPPO pieces against hand-computed values, and one learner update on a tiny batch."""

from __future__ import annotations

import math

import pytest
import torch

from hideseek.contract import load_world_config
from hideseek.mappo import (PPOConfig, TeamBatch, TeamLearner, clipped_surrogate, clipped_value_loss,
                            explained_variance, gae, huber, masked_mean)
from hideseek.models import ModelConfig, sample_actions
from hideseek.normalize import RunningMeanStd, RunningNorm, ValueNorm


def test_gae_hand_computed_with_truncation_bootstrap():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.4], [0.3]])
    # Step 1 ends an episode by truncation: its next value is V(final_obs) = 9, not values[2].
    next_values = torch.tensor([[0.4], [9.0], [0.1]])
    dones = torch.tensor([[False], [True], [False]])
    adv, ret = gae(rewards, values, next_values, dones, gamma=0.9, lam=0.8)
    torch.testing.assert_close(adv[:, 0], torch.tensor([6.404, 7.7, 1.79]))
    torch.testing.assert_close(ret[:, 0], torch.tensor([6.904, 8.1, 2.09]))


def test_clipped_surrogate_hand_computed():
    logp = torch.log(torch.tensor([1.5, 0.5, 1.1]))
    old = torch.zeros(3)
    adv = torch.tensor([2.0, -1.0, 1.0])
    weight = torch.tensor([1.0, 1.0, 0.0])  # the third sample cannot act: excluded
    loss, clipfrac, kl = clipped_surrogate(logp, old, adv, clip=0.2, weight=weight)
    assert loss.item() == pytest.approx(-(2.4 - 0.8) / 2)
    assert clipfrac.item() == pytest.approx(1.0)
    expected_kl = ((0.5 - math.log(1.5)) + (-0.5 - math.log(0.5))) / 2
    assert kl.item() == pytest.approx(expected_kl, rel=1e-5)


def test_clipped_huber_value_loss_hand_computed():
    assert huber(torch.tensor([0.5, -3.0]), 1.0).tolist() == pytest.approx([0.125, 2.5])
    pred = torch.tensor([1.0, 0.1])
    old = torch.tensor([0.0, 0.0])
    target = torch.tensor([3.0, 0.05])
    loss = clipped_value_loss(pred, old, target, clip=0.2, delta=1.0, weight=torch.ones(2))
    assert loss.item() == pytest.approx((2.3 + 0.00125) / 2)


def test_value_norm_hand_computed():
    vn = ValueNorm(1, beta=0.5)
    vn.update(torch.tensor([[2.0], [4.0]]))
    mean, var = vn.mean_var()
    assert mean.item() == pytest.approx(3.0) and var.item() == pytest.approx(1.0)
    assert vn.normalize(torch.tensor([[5.0]])).item() == pytest.approx(2.0)
    vn.update(torch.tensor([[0.0]]))
    mean, var = vn.mean_var()
    assert mean.item() == pytest.approx(1.0) and var.item() == pytest.approx(10 / 3 - 1)
    x = torch.tensor([[0.3], [-2.0]])
    torch.testing.assert_close(vn.denormalize(vn.normalize(x)), x)


def test_running_norms_hand_computed():
    rn = RunningNorm(1)
    rn.update(torch.tensor([[1.0], [3.0], [100.0]]), weight=torch.tensor([1.0, 1.0, 0.0]))
    rn.update(torch.tensor([[5.0]]))
    assert rn.mean.item() == pytest.approx(3.0) and rn.var.item() == pytest.approx(8 / 3)
    assert rn(torch.tensor([[3.0 + 1000.0]])).item() == pytest.approx(rn.clip)
    rms = RunningMeanStd()
    rms.update(torch.tensor([1.0, 3.0]))
    rms.update(torch.tensor([5.0]))
    assert rms.mean.item() == pytest.approx(3.0) and rms.var.item() == pytest.approx(8 / 3)
    assert masked_mean(torch.tensor([1.0, 5.0]), torch.tensor([0.0, 1.0])).item() == 5.0


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.ones(4)
    assert explained_variance(target, target, w).item() == pytest.approx(1.0)
    assert explained_variance(torch.zeros(4) + 2.5, target, w).item() == pytest.approx(0.0)
    assert explained_variance(target, torch.ones(4), w).item() == 0.0  # constant target


def test_learner_update_moves_policy_toward_positive_advantage():
    """One update on a batch where action 3 of branch 0 has positive advantage raises its
    probability; samples with zero actor weight never change the outcome."""
    world = load_world_config("quadrant", {"lidar_rays": 4})
    layout = world.layout
    torch.manual_seed(0)
    learner = TeamLearner(layout, ModelConfig(embed_dim=16, hidden=32),
                          PPOConfig(epochs=4, minibatches=2, lr=3e-3))
    m = 64
    g = torch.Generator().manual_seed(0)
    obs = tuple(torch.randn(m, *s, generator=g) for s in layout.obs_shapes)
    mask = torch.ones(m, 37, dtype=torch.bool)
    bi = learner.branch_index
    with torch.no_grad():
        logp_all = bi.log_probs(learner.model.actor(*obs)[0], mask)
    actions = sample_actions(logp_all, g)
    adv = (actions[:, 0] == 3).float() * 2 - 0.2
    logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)
    batch = TeamBatch(obs=obs, memory=None, state=torch.randn(m, layout.state_size, generator=g),
                      slot=torch.zeros(m, dtype=torch.long), mask=mask, actions=actions, logp=logp,
                      values=torch.zeros(m, 2), returns=torch.randn(m, 2, generator=g), adv=adv,
                      act_weight=torch.ones(m), value_weight=torch.ones(m))
    p_before = logp_all[:, 0, 3].exp().mean()
    stats = learner.update(batch, torch.Generator().manual_seed(1), use_intrinsic=True)
    with torch.no_grad():
        p_after = bi.log_probs(learner.model.actor(*obs)[0], mask)[:, 0, 3].exp().mean()
    assert p_after > p_before * 1.2
    assert set(stats) >= {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
                          "explained_variance", "explained_variance_int"}
    assert all(torch.isfinite(v) for v in stats.values())
