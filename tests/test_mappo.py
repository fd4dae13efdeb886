"""MAPPO pieces against hand-computed values, and one learner update on a tiny batch."""

from __future__ import annotations

import math

import pytest
import torch

from hideseek.contract import load_world_config
from hideseek.mappo import (clipped_surrogate, clipped_value_loss, explained_variance, gae, huber,
                            masked_mean)
from hideseek.normalize import RunningMeanStd, RunningNorm, ValueNorm


def test_gae_hand_computed_with_truncation_bootstrap():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.4], [0.3]])
    # Step 1 ends an episode by truncation: its next value is V(final_obs) = 9, not values[2].
    next_values = torch.tensor([[0.4], [9.0], [0.1]])
    dones = torch.tensor([[False], [True], [False]])
    valid = torch.ones_like(dones)
    adv, ret = gae(rewards, values, next_values, dones, valid, gamma=0.9, lam=0.8)
    torch.testing.assert_close(adv[:, 0], torch.tensor([6.404, 7.7, 1.79]))
    torch.testing.assert_close(ret[:, 0], torch.tensor([6.904, 8.1, 2.09]))


def test_gae_streams_with_their_own_discount_and_an_unobserved_step():
    rewards = torch.tensor([[[1.0, 1.0]], [[5.0, 5.0]], [[2.0, 2.0]]])   # [T, M, streams]
    values = torch.zeros(3, 1, 2)
    next_values = torch.ones(3, 1, 2)
    dones = torch.zeros(3, 1, dtype=torch.bool)
    adv, _ = gae(rewards, values, next_values, dones, torch.ones_like(dones),
                 gamma=torch.tensor([1.0, 0.5]), lam=1.0)
    torch.testing.assert_close(adv[:, 0], torch.tensor([[11.0, 4.875], [9.0, 6.75], [3.0, 2.5]]))
    # Step 1 was never observed: it counts 0 and step 0 bootstraps from V(s_1) alone.
    valid = torch.tensor([[True], [False], [True]])
    adv, _ = gae(rewards, values, next_values, dones, valid, gamma=torch.tensor([1.0, 0.5]), lam=1.0)
    torch.testing.assert_close(adv[:, 0], torch.tensor([[2.0, 1.5], [0.0, 0.0], [3.0, 2.5]]))


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
