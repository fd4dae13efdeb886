"""The learner's update on real rollouts of the twin: what counts, what it bootstraps from, how
the value clip is centred, the intrinsic reward's scale and masking, recurrent chunks."""

from __future__ import annotations

import pytest
import torch

from hideseek.buffer import RolloutBuffer
from hideseek.config_io import ConfigError, build
from hideseek.contract import load_world_config
from hideseek.icm import ICMConfig, IntrinsicScale
from hideseek.learner import Learner, sample_weights
from hideseek.mappo import PPOConfig
from hideseek.models import ModelConfig
from hideseek.rollout import Collector
from hideseek.sim import TwinSim

WORLD = load_world_config("quadrant", {"lidar_rays": 4, "horizon": 10})
SMALL = ModelConfig(embed_dim=16, num_heads=1, hidden=32)


def make(steps: int = 12, arenas: int = 3, model: ModelConfig = SMALL, ppo: PPOConfig | None = None,
         icm: ICMConfig | None = None, teams=("hider", "seeker")) -> tuple[Learner, Collector]:
    torch.manual_seed(0)
    learner = Learner(WORLD.layout, model, ppo or PPOConfig(), icm or ICMConfig(feature_dim=8, hidden=16),
                      list(teams))
    sim = TwinSim(WORLD, arenas, seed=3)
    col = Collector(sim, learner.actors, learner.slots, torch.Generator().manual_seed(1), steps)
    col.reset(3)
    return learner, col


def weights(learner: Learner, buf: RolloutBuffer, group: str = "shared"):
    return sample_weights(buf, learner.slots[group], learner.train_slots, learner.branch_index)


def test_next_values_are_the_final_states_value_at_truncations():
    learner, col = make(steps=12)  # horizon 10: every arena is truncated at step 9
    buf = col.collect()
    assert buf.final_steps == [9] and bool(buf.truncated[9].all())
    g, sl = learner.groups["shared"], learner.slots["shared"]
    g.value_norm.update(torch.randn(50, 2) * 3 + 1)  # values are denormalized: not the identity
    with torch.no_grad():  # before the update moves ValueNorm
        v_final = g.value_norm.denormalize(g.model.critic(buf.final_state[0]))
        v_next_episode = g.value_norm.denormalize(g.model.critic(buf.state[10]))
        v_bootstrap = g.value_norm.denormalize(g.model.critic(buf.state[12]))
        tg = learner.advantages(g, sl, buf, weights(learner, buf))
    torch.testing.assert_close(tg.next_values[9], v_final)
    assert not torch.allclose(tg.next_values[9], v_next_episode)  # not the next episode's start
    torch.testing.assert_close(tg.next_values[11], v_bootstrap)   # the rollout's bootstrap
    torch.testing.assert_close(tg.next_values[3], tg.values[4])   # inside an episode


def test_value_clip_is_centred_on_the_critics_output_before_any_step():
    """Huge returns move ValueNorm's statistics far; with a negligible learning rate the
    prediction still equals the clip centre, so no sample loses its value gradient."""
    learner, col = make(ppo=PPOConfig(lr=1e-12, epochs=2, minibatches=2))
    buf = col.collect()
    buf.reward.mul_(0).add_(500.0)
    stats = learner.update(buf, torch.Generator().manual_seed(0))
    assert stats["shared/value_clip_fraction"].item() == 0.0
    assert stats["shared/value_loss"].item() > 1.0  # the targets really did move


def test_weights_leave_out_frozen_opponents_absent_slots_unobserved_steps_and_prep_seekers():
    learner, col = make(steps=6, arenas=4)
    buf = col.collect()
    buf.trainable[:2, WORLD.layout.team_slice("seeker")] = False  # seekers frozen in arenas 0-1
    buf.valid[3, 1] = False
    buf.present[:, 2, 0] = False
    w = weights(learner, buf)
    seekers = WORLD.layout.team_slice("seeker")
    assert w.value[:, :2, seekers].sum() == 0 and w.value[:, 2:, seekers].sum() > 0
    assert w.value[3, 1].sum() == 0 and w.value[2, 1].sum() > 0
    assert w.value[:, 2, 0].sum() == 0
    # Seekers cannot act during prep (4 steps of a 10-step horizon): critic only.
    assert w.act[:4, 2:, seekers].sum() == 0 and w.value[:4, 2:, seekers].sum() > 0
    assert w.act[:4, :, :2].sum() > 0


def test_a_team_that_does_not_train_gets_no_weight_and_no_update():
    learner, col = make(model=ModelConfig(embed_dim=16, num_heads=1, hidden=32, shared_policy=False),
                        teams=("hider",))
    assert learner.trained == ["hider"]
    before = {k: v.clone() for k, v in learner.groups["seeker"].state_dict().items()}
    stats = learner.update(col.collect(), torch.Generator().manual_seed(0))
    assert not any(k.startswith("seeker/policy") for k in stats)
    after = learner.groups["seeker"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_unobserved_steps_cut_gae_and_count_for_nothing():
    learner, col = make(steps=8, arenas=2)
    buf = col.collect()
    g, sl = learner.groups["shared"], learner.slots["shared"]
    statistics = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        clean = learner.advantages(g, sl, buf, weights(learner, buf))
    g.load_state_dict(statistics)  # advantages() moves the running statistics
    buf.valid[5, 0] = False
    buf.reward[5, 0] = 1e6  # a fabricated reward must change nothing
    with torch.no_grad():
        tg = learner.advantages(g, sl, buf, weights(learner, buf))
    assert torch.equal(tg.returns[5, 0] - tg.values[5, 0], torch.zeros_like(tg.returns[5, 0]))
    # Step 4 bootstraps from V(s_5) (observed) and stops there.
    r = buf.reward[4, 0]
    gamma = learner.ppo.gamma
    expect = r + gamma * tg.next_values[4, 0, :, 0] - tg.values[4, 0, :, 0]
    assert torch.allclose((tg.returns - tg.values)[4, 0, :, 0], expect, atol=1e-5)
    # The other arena keeps its extrinsic returns (the intrinsic scale saw fewer samples).
    assert torch.equal(tg.returns[:, 1, ..., 0], clean.returns[:, 1, ..., 0])


def test_intrinsic_scale_ignores_masked_samples():
    raw = torch.tensor([[1.0, 2.0, 50.0], [3.0, 1.0, 50.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    a, b = IntrinsicScale(0.9), IntrinsicScale(0.9)
    out = a.normalize(raw, mask)
    ref = b.normalize(raw[:, :2], mask[:, :2])
    torch.testing.assert_close(out[:, :2], ref)
    assert a.stats.count.item() == 4


def test_intrinsic_rewards_are_scaled_to_unit_return_std_and_zero_where_masked():
    learner, col = make(steps=10, arenas=4)
    buf = col.collect()
    g, sl = learner.groups["shared"], learner.slots["shared"]
    w = weights(learner, buf)
    with torch.no_grad():
        tg = learner.advantages(g, sl, buf, w)
    assert tg.reward_int[w.act == 0].abs().sum() == 0
    assert tg.reward_int[w.act > 0].min() > 0
    std = g.intrinsic_scale.stats.std.item()
    assert std > 0 and g.intrinsic_scale.stats.count.item() == w.act.sum().item()


def test_icm_has_no_eta():
    with pytest.raises(ConfigError, match="eta"):
        build(ICMConfig, {"eta": 2.0}, "train.yaml", prefix="icm.")


def test_recurrent_chunks_carry_gradients_across_steps_and_reset_at_episode_starts():
    model = ModelConfig(embed_dim=16, num_heads=1, hidden=32, recurrent="gru")
    learner, col = make(steps=12, arenas=2, model=model, ppo=PPOConfig(chunk_length=6))
    buf = col.collect()  # truncation at step 9: chunk [6, 12) holds an episode start at 10
    g, sl = learner.groups["shared"], learner.slots["shared"]
    obs0 = buf.obs[0][:12].clone().requires_grad_(True)
    c, a, L = torch.tensor([1]), torch.tensor([0]), 6
    at = sl.stop - sl.start

    def flat(x):
        return x[6:12, 0].reshape(-1, *x.shape[3:])

    obs = (flat(obs0),) + tuple(flat(o[:12]) for o in buf.obs[1:])
    logits = learner._actor_logits(g, buf, sl, obs, c, a, L).view(L, at, -1)
    grad_same_episode = torch.autograd.grad(logits[3].sum(), obs0, retain_graph=True)[0]
    assert grad_same_episode[6, 0].abs().sum() > 0          # step 9 depends on step 6
    grad_next_episode = torch.autograd.grad(logits[5].sum(), obs0)[0]
    assert grad_next_episode[6:10, 0].abs().sum() == 0      # step 11 forgets the old episode
    assert grad_next_episode[10, 0].abs().sum() > 0
    # The chunk's logits equal the acting pass from the stored memory.
    with torch.no_grad():
        mem = buf.memory[6, 0]
        step6, _ = g.model.actor(*(o[6, 0] for o in buf.obs), mem)
    torch.testing.assert_close(logits[0].detach(), step6)


def test_recurrent_training_updates_and_frozen_opponent_memory_is_forgotten():
    from hideseek.models import Actor
    model = ModelConfig(embed_dim=16, num_heads=1, hidden=32, recurrent="gru")
    learner, col = make(steps=12, arenas=4, model=model, ppo=PPOConfig(chunk_length=4))
    stats = learner.update(col.collect(), torch.Generator().manual_seed(0))
    assert torch.isfinite(stats["shared/policy_loss"])
    past = Actor(WORLD.layout, model)
    col.collect({"seeker": (past, 2)})
    assert col.memory[:2, 2:].abs().sum() > 0
    col.collect()  # the current policy takes the seekers back: their memory starts empty
    seekers = WORLD.layout.team_slice("seeker")
    assert torch.equal(col.buffer.memory[0, :2, seekers], torch.zeros_like(col.buffer.memory[0, :2, seekers]))
    assert col.buffer.memory[0, 2:, seekers].abs().sum() > 0


def test_update_moves_policy_toward_rewarded_action():
    """Reward hiders for choosing bin 8 of the x-force branch; after a few updates on the same
    kind of data that action is more likely."""
    learner, col = make(steps=10, arenas=8, ppo=PPOConfig(lr=3e-3, epochs=2, gamma=0.0),
                        icm=ICMConfig(coef=0.0))
    g = learner.groups["shared"]
    hiders = WORLD.layout.team_slice("hider")

    def p_bin8() -> float:
        buf = col.buffer
        with torch.no_grad():
            lp = learner.branch_index.log_probs(
                g.model.actor(*(o[:10, :, hiders].reshape(-1, *o.shape[3:]) for o in buf.obs))[0],
                buf.mask[:, :, hiders].reshape(-1, 37))
        return lp[:, 0, 8].exp().mean().item()

    col.collect()
    before = p_bin8()
    for _ in range(4):
        buf = col.collect()
        buf.reward[:, :, hiders] = (buf.actions[:, :, hiders, 0] == 8).float()
        learner.update(buf, torch.Generator().manual_seed(0))
    assert p_bin8() > before * 1.3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_update_smoke():
    torch.manual_seed(0)
    learner = Learner(WORLD.layout, SMALL, PPOConfig(), ICMConfig(feature_dim=8, hidden=16),
                      ["hider", "seeker"], device="cuda")
    sim = TwinSim(WORLD, 8, device="cuda", seed=0)
    col = Collector(sim, learner.actors, learner.slots,
                    torch.Generator(device="cuda").manual_seed(1), 12)
    col.reset(0)
    stats = learner.update(col.collect(), torch.Generator().manual_seed(0))
    assert all(v.device.type == "cuda" for v in stats.values())
    assert all(torch.isfinite(v).item() for v in stats.values())
