"""ICM losses and reward against hand-computed values; the module learns on a fixed batch."""

from __future__ import annotations

import math

import pytest
import torch

from hideseek.config_io import ConfigError, build
from hideseek.contract import load_world_config
from hideseek.icm import ICM, ICMConfig, forward_error, icm_losses
from hideseek.models import BranchIndex


def test_losses_and_reward_hand_computed():
    phi_next = torch.tensor([[1.0, 2.0]])
    pred = torch.tensor([[0.0, 0.0]])
    inv_logp = torch.log(torch.tensor([[[0.25, 0.75]]]))  # one branch of two actions
    actions = torch.tensor([[1]])
    loss, l_inv, l_fwd = icm_losses(phi_next, pred, inv_logp, actions, beta=0.2,
                                    weight=torch.ones(1))
    assert l_fwd.item() == pytest.approx(2.5)
    assert l_inv.item() == pytest.approx(-math.log(0.75), rel=1e-6)
    assert loss.item() == pytest.approx(0.8 * -math.log(0.75) + 0.2 * 2.5, rel=1e-6)
    assert forward_error(pred, phi_next).item() == pytest.approx(2.5)  # the raw curiosity


def test_weight_excludes_samples():
    phi_next = torch.tensor([[1.0], [100.0]])
    pred = torch.zeros(2, 1)
    inv_logp = torch.log(torch.full((2, 1, 2), 0.5))
    _, _, l_fwd = icm_losses(phi_next, pred, inv_logp, torch.zeros(2, 1, dtype=torch.long), 0.2,
                             weight=torch.tensor([1.0, 0.0]))
    assert l_fwd.item() == pytest.approx(0.5)


def test_icm_learns_and_curiosity_drops_on_seen_transitions():
    layout = load_world_config("quadrant", {"lidar_rays": 4}).layout
    torch.manual_seed(0)
    icm = ICM(layout, ICMConfig(feature_dim=8, hidden=32))
    g = torch.Generator().manual_seed(0)
    m = 128
    obs = tuple(torch.randn(m, *s, generator=g) for s in layout.obs_shapes)
    actions = torch.stack([torch.randint(0, n, (m,), generator=g) for n in layout.action_branches], -1)
    # The next observation depends on the action, so both models have something to learn.
    next_obs = (obs[0] + actions[:, :1].float() * 0.1,) + obs[1:]
    opt = torch.optim.Adam(icm.parameters(), lr=3e-3)
    bi = BranchIndex(layout.action_branches)

    def curiosity():
        phi_next = icm.encode(next_obs)
        pred, inv_logp = icm.predict(icm.encode(obs), phi_next, actions, bi)
        return phi_next, pred, inv_logp

    with torch.no_grad():
        surprise_before = forward_error(*curiosity()[1::-1]).mean()
    first = None
    for _ in range(150):
        phi_next, pred, inv_logp = curiosity()
        loss, l_inv, _ = icm_losses(phi_next, pred, inv_logp, actions, 0.2, torch.ones(m))
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first
    with torch.no_grad():
        phi_next, pred, _ = curiosity()
        surprise_after = forward_error(pred, phi_next)
    assert surprise_after.shape == (m,)
    assert surprise_after.mean() < surprise_before


def test_bad_icm_config():
    with pytest.raises(ConfigError, match="icm.beta"):
        build(ICMConfig, {"beta": 1.5}, "train.yaml", prefix="icm.")
    assert not build(ICMConfig, {"coef": 0}, "x").enabled
