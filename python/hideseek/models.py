"""Entity-centric actor and centralized critic (Baker et al. 2019 style), plus action helpers.

Actor: the self vector and every entity row are embedded (one embedding per entity type), the
tokens go through masked residual self-attention (padding = all-zero rows, ML-Agents'
BufferSensor convention), are mean-pooled over valid tokens, optionally pass a GRU/LSTM, and
feed one categorical head per action branch. Observation normalization lives inside the Actor
(buffers of :class:`RunningNorm`) so the ONNX export contains it. Everything is written with
Linear / LayerNorm / matmul / softmax / where so ``torch.onnx.export(dynamo=False)`` at opset
<= 15 produces only ops that Unity's inference engine supports.

Critic: one pass over the unmasked global state (split by ``layout.state_blocks``: agents, boxes,
ramps, walls, globals) values every agent at once: the entity tokens go through the same masked
self-attention, and each agent's output token (which carries its team, ``is_hider``) together with
the pooled state feeds one value head per reward stream (extrinsic, intrinsic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .config_io import ConfigError, spec
from .contract import ACTION_BRANCHES, ObsLayout
from .normalize import RunningNorm

NEG_INF = -1e9  # masked logit / attention score: finite so that 0 * NEG_INF is never NaN


@dataclass(frozen=True)
class ModelConfig:
    embed_dim: int = field(default=64, metadata=spec(ge=4, le=1024))
    num_heads: int = field(default=2, metadata=spec(ge=1, le=16))
    attention_layers: int = field(default=1, metadata=spec(ge=0, le=8))
    hidden: int = field(default=128, metadata=spec(ge=4, le=4096, doc="width after pooling"))
    recurrent: str = field(default="none", metadata=spec(choices=("none", "gru", "lstm")))
    normalize_obs: bool = True
    shared_policy: bool = field(default=True, metadata=spec(
        doc="one actor and critic for both teams (the team is an input, as in OpenAI's agents)"))

    def check(self, source: str) -> None:
        if self.embed_dim % self.num_heads:
            raise ConfigError(source, "model.num_heads", self.num_heads,
                              f"a divisor of model.embed_dim ({self.embed_dim})")


# --------------------------------------------------------------------------- action helpers

def split_branches(x: Tensor, branches: tuple[int, ...]) -> tuple[Tensor, ...]:
    """Split the last dimension of concatenated per-branch values into one tensor per branch."""
    return tuple(torch.split(x, list(branches), dim=-1))


# Logit of a masked action, as ML-Agents writes it (``logits * m - 1e8 * (1 - m)``): the softmax of
# a masked entry underflows to exactly 0 and an all-masked row stays a finite uniform
# distribution (Unity runs every model once on all-zero inputs when it loads it).
MASKED_LOGIT = 1e8


def masked_logits(logits: Tensor, mask: Tensor) -> Tensor:
    """Logits with disallowed actions (mask False / 0) at -1e8; one formula for training and the
    ONNX graph. Written ``-1 * m + 1`` rather than ``1 - m`` for the reason ML-Agents gives:
    Sentis has been seen to swap the operands of a Sub with a constant."""
    m = mask.to(logits.dtype)
    return logits * m - MASKED_LOGIT * (-1.0 * m + 1.0)


def branch_probs(logits: Tensor, mask: Tensor) -> list[Tensor]:
    """Per-branch action probabilities under the mask: a list of ``[B, branch size]`` (the ONNX
    policy head)."""
    return [torch.softmax(z, dim=1) for z in split_branches(masked_logits(logits, mask), ACTION_BRANCHES)]


def select_actions(probs: list[Tensor], deterministic: bool,
                   generator: torch.Generator | None = None) -> Tensor:
    """int64 [B, 5]: a multinomial sample (or the arg-max) of each branch's probabilities."""
    if deterministic:
        return torch.cat([torch.argmax(p, dim=1, keepdim=True) for p in probs], dim=1)
    return torch.cat([torch.multinomial(p, 1, generator=generator) for p in probs], dim=1)


class BranchIndex:
    """Gathers the 37 concatenated logits into a padded ``[B, n_branches, max_branch]`` grid so that
    all branches are sampled and scored with one vectorized op instead of a Python loop."""

    def __init__(self, branches: tuple[int, ...], device: torch.device | str = "cpu"):
        self.branches = tuple(branches)
        width = max(branches)
        starts = [sum(branches[:i]) for i in range(len(branches))]
        idx = torch.zeros(len(branches), width, dtype=torch.int64)
        valid = torch.zeros(len(branches), width, dtype=torch.bool)
        for b, (s, n) in enumerate(zip(starts, branches)):
            idx[b, :n] = torch.arange(s, s + n)
            valid[b, :n] = True
        self.index = idx.reshape(-1).to(device)
        self.valid = valid.to(device)
        self.shape = (len(branches), width)

    def grid(self, flat: Tensor, fill: float | bool) -> Tensor:
        g = flat[..., self.index].reshape(*flat.shape[:-1], *self.shape)
        return torch.where(self.valid, g, torch.full_like(g, fill))

    def log_probs(self, logits: Tensor, mask: Tensor) -> Tensor:
        """Per-branch log-probabilities ``[B, n_branches, max_branch]`` honouring the mask."""
        g = self.grid(masked_logits(logits, mask), NEG_INF)
        return torch.log_softmax(g, dim=-1)

    def can_act(self, mask: Tensor) -> Tensor:
        """[B] True where some branch has more than one allowed action (seekers in prep: False)."""
        counts = self.grid(mask, False).sum(-1)
        return (counts > 1).any(-1)

    def one_hot(self, actions: Tensor) -> Tensor:
        """int64 ``[B, n_branches]`` -> float ``[B, sum(branches)]`` concatenated one-hots."""
        parts = [nn.functional.one_hot(actions[..., b], n) for b, n in enumerate(self.branches)]
        return torch.cat(parts, -1).float()


def random_actions(mask: Tensor, branch_index: "BranchIndex",
                   generator: torch.Generator | None = None) -> Tensor:
    """Uniformly random actions [B, n_branches] among those ``mask`` [B, 37] allows."""
    return sample_actions(branch_index.log_probs(torch.zeros(mask.shape, device=mask.device), mask),
                          generator)


def sample_actions(logp: Tensor, generator: torch.Generator | None = None,
                   noise: Tensor | None = None) -> Tensor:
    """Sample one action per branch from ``[B, n_branches, width]`` log-probs (Gumbel-max through
    exponential noise; needs no host sync). ``noise`` (Exp(1), shaped like ``logp``) may be drawn
    beforehand, e.g. outside a compiled function; else it is drawn from ``generator``."""
    if noise is None:
        noise = torch.empty_like(logp).exponential_(generator=generator)
    return (logp - noise.log()).argmax(-1)


def action_log_prob(logp: Tensor, actions: Tensor) -> Tensor:
    """Joint log-probability [B] of ``actions`` [B, n_branches] (sum over branches)."""
    return logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)


def entropy(logp: Tensor) -> Tensor:
    """Joint entropy [B] of independent branches; masked actions contribute exactly 0."""
    return -(logp.exp() * logp).sum(-1).sum(-1)


# --------------------------------------------------------------------------- building blocks

def entity_mask(rows: Tensor) -> Tensor:
    """[..., E, C] -> [..., E] bool: True for real rows, False for all-zero padding rows."""
    return rows.abs().amax(-1) > 0


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class MaskedSelfAttention(nn.Module):
    """Pre-LayerNorm residual multi-head self-attention + MLP; keys outside ``mask`` are ignored.
    Written with matmuls (no nn.MultiheadAttention) so the ONNX graph is plain."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = _init(nn.Linear(dim, 3 * dim), math.sqrt(2))
        self.proj = _init(nn.Linear(dim, dim), 1.0)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(_init(nn.Linear(dim, dim), math.sqrt(2)), nn.ReLU(),
                                 _init(nn.Linear(dim, dim), 1.0))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        tokens, dim = x.shape[-2], x.shape[-1]
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)

        def heads(t: Tensor) -> Tensor:  # [B, T, D] -> [B, H, T, Dh]
            return t.reshape(-1, tokens, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(q), heads(k), heads(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        key_ok = mask.unsqueeze(1).unsqueeze(1)  # [B, 1, 1, T]
        scores = torch.where(key_ok, scores, torch.full_like(scores, NEG_INF))
        attn = torch.softmax(scores, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(-1, tokens, dim)
        x = x + self.proj(out)
        return x + self.mlp(self.norm2(x))


class EntityTrunk(nn.Module):
    """self vector + entity sets -> one feature vector per sample."""

    def __init__(self, self_size: int, entity_sizes: tuple[int, ...], cfg: ModelConfig):
        super().__init__()
        d = cfg.embed_dim
        self.embed_self = _init(nn.Linear(self_size, d), math.sqrt(2))
        self.embed_entities = nn.ModuleList(_init(nn.Linear(c, d), math.sqrt(2))
                                            for c in entity_sizes)
        self.blocks = nn.ModuleList(MaskedSelfAttention(d, cfg.num_heads)
                                    for _ in range(cfg.attention_layers))
        self.out_norm = nn.LayerNorm(d)
        self.out = _init(nn.Linear(2 * d, cfg.hidden), math.sqrt(2))

    def forward(self, self_vec: Tensor, entities: list[Tensor], masks: list[Tensor]) -> Tensor:
        """``entities[i]`` [B, E_i, C_i] with ``masks[i]`` [B, E_i] bool (False = padding)."""
        s = torch.relu(self.embed_self(self_vec)).unsqueeze(1)
        toks = [s] + [torch.relu(emb(e)) for emb, e in zip(self.embed_entities, entities)]
        x = torch.cat(toks, dim=1)
        self_ok = torch.ones_like(masks[0][:, :1]) if masks else None
        mask = torch.cat([self_ok] + list(masks), dim=1) if masks else None
        for block in self.blocks:
            x = block(x, mask)
        x = self.out_norm(x)
        w = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * w).sum(1) / w.sum(1)  # the self token is always valid: never 0 / 0
        return torch.relu(self.out(torch.cat([x[:, 0], pooled], dim=-1)))


class Recurrence(nn.Module):
    """GRU or LSTM over one step; memory is ``[B, 1, memory_size]`` (ML-Agents' convention, an
    LSTM stores h and c side by side)."""

    def __init__(self, kind: str, size: int):
        super().__init__()
        self.kind, self.size = kind, size
        rnn = nn.GRU if kind == "gru" else nn.LSTM
        self.rnn = rnn(size, size, batch_first=True)
        self.memory_size = size * (2 if kind == "lstm" else 1)

    def forward(self, x: Tensor, memory: Tensor | None) -> tuple[Tensor, Tensor]:
        if memory is None:
            memory = torch.zeros(x.shape[0], 1, self.memory_size, dtype=x.dtype, device=x.device)
        m = memory.transpose(0, 1)  # [1, B, M]
        if self.kind == "gru":
            y, h = self.rnn(x.unsqueeze(1), m.contiguous())
            new = h
        else:
            h0, c0 = m[..., :self.size].contiguous(), m[..., self.size:].contiguous()
            y, (h, c) = self.rnn(x.unsqueeze(1), (h0, c0))
            new = torch.cat([h, c], dim=-1)
        return y.squeeze(1), new.transpose(0, 1)


# --------------------------------------------------------------------------- actor and critic

class Actor(nn.Module):
    """Decentralized policy of one team: own observations in, raw concatenated logits out."""

    def __init__(self, layout: ObsLayout, cfg: ModelConfig):
        super().__init__()
        self.branches = tuple(layout.action_branches)
        shapes = layout.obs_shapes
        self.normalize = cfg.normalize_obs
        self.norm_self = RunningNorm(shapes[0][0])
        self.norm_entities = nn.ModuleList(RunningNorm(s[-1]) for s in shapes[1:])
        self.trunk = EntityTrunk(shapes[0][0], tuple(s[-1] for s in shapes[1:]), cfg)
        self.recurrence = Recurrence(cfg.recurrent, cfg.hidden) if cfg.recurrent != "none" else None
        self.memory_size = self.recurrence.memory_size if self.recurrence is not None else 0
        self.heads = nn.ModuleList(_init(nn.Linear(cfg.hidden, n), 0.01) for n in self.branches)

    def forward(self, obs_0: Tensor, obs_1: Tensor, obs_2: Tensor, obs_3: Tensor,
                memory: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        raw = (obs_1, obs_2, obs_3)
        masks = [entity_mask(e) for e in raw]
        if self.normalize:
            self_vec = self.norm_self(obs_0)
            # Padding rows stay exactly zero after normalization (the mask also hides them).
            ents = [n(e) * m.unsqueeze(-1).to(e.dtype)
                    for n, e, m in zip(self.norm_entities, raw, masks)]
        else:
            self_vec, ents = obs_0, list(raw)
        h = self.trunk(self_vec, ents, masks)
        new_memory = None
        if self.recurrence is not None:
            h, new_memory = self.recurrence(h, memory)
        return torch.cat([head(h) for head in self.heads], dim=-1), new_memory

    @torch.no_grad()
    def update_normalizer(self, obs: tuple[Tensor, Tensor, Tensor, Tensor],
                          weight: Tensor | None = None) -> None:
        """Merge observation statistics; ``obs`` have any leading dims, ``weight`` selects
        samples. Padding rows never count."""
        self.norm_self.update(obs[0], weight)
        for norm, rows in zip(self.norm_entities, obs[1:]):
            m = entity_mask(rows)
            if weight is not None:
                m = m & weight.unsqueeze(-1).bool()
            norm.update(rows, m)


class Critic(nn.Module):
    """Centralized value function: the global state in, ``[B, A, streams]`` values of every agent
    slot out, from one pass (the critic never runs once per agent on the same state)."""

    def __init__(self, layout: ObsLayout, cfg: ModelConfig, streams: int = 2):
        super().__init__()
        self.blocks = tuple(layout.state_blocks)  # agents first, globals last
        d = cfg.embed_dim
        self.normalize = cfg.normalize_obs
        self.norms = nn.ModuleList(RunningNorm(cols) for _, _, cols in self.blocks)
        self.embed = nn.ModuleList(_init(nn.Linear(cols, d), math.sqrt(2)) for _, _, cols in self.blocks)
        self.attention = nn.ModuleList(MaskedSelfAttention(d, cfg.num_heads)
                                       for _ in range(cfg.attention_layers))
        self.out_norm = nn.LayerNorm(d)
        self.hidden = _init(nn.Linear(2 * d, cfg.hidden), math.sqrt(2))
        self.value = _init(nn.Linear(cfg.hidden, streams), 1.0)

    def split(self, state: Tensor) -> list[Tensor]:
        """[B, S] -> one ``[B, rows, cols]`` tensor per state block."""
        parts, start = [], 0
        for _, rows, cols in self.blocks:
            parts.append(state[:, start:start + rows * cols].reshape(-1, rows, cols))
            start += rows * cols
        return parts

    @staticmethod
    def token_masks(parts: list[Tensor]) -> list[Tensor]:
        """Entity rows are real unless all zero; the globals token (last) always counts."""
        return [entity_mask(p) for p in parts[:-1]] + [torch.ones_like(parts[-1][..., 0], dtype=torch.bool)]

    def forward(self, state: Tensor) -> Tensor:
        """[B, A, streams] values (normalized space of the trainer's ValueNorm)."""
        parts = self.split(state)
        masks = self.token_masks(parts)
        if self.normalize:
            parts = [n(p) * m.unsqueeze(-1).to(p.dtype) for n, p, m in zip(self.norms, parts, masks)]
        x = torch.cat([torch.relu(emb(p)) for emb, p in zip(self.embed, parts)], dim=1)
        mask = torch.cat(masks, dim=1)  # the globals token is always valid: never 0 / 0
        for block in self.attention:
            x = block(x, mask)
        x = self.out_norm(x)
        w = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * w).sum(1, keepdim=True) / w.sum(1, keepdim=True)
        agents = x[:, :self.blocks[0][1]]
        h = torch.relu(self.hidden(torch.cat([agents, pooled.expand_as(agents)], dim=-1)))
        return self.value(h)

    @torch.no_grad()
    def update_normalizer(self, state: Tensor, weight: Tensor | None = None) -> None:
        """Merge state statistics of ``state`` [B, S]; ``weight`` [B] selects states. Padding
        rows never count."""
        parts = self.split(state)
        for norm, rows, m in zip(self.norms, parts, self.token_masks(parts)):
            if weight is not None:
                m = m & weight.unsqueeze(-1).bool()
            norm.update(rows, m)


class TeamModel(nn.Module):
    """The parameters one team shares: its actor and its centralized critic."""

    def __init__(self, layout: ObsLayout, cfg: ModelConfig):
        super().__init__()
        self.actor = Actor(layout, cfg)
        self.critic = Critic(layout, cfg)
