"""Running statistics used by the trainer and baked into the networks.

* :class:`RunningNorm` normalizes observation columns. It is an ``nn.Module`` whose statistics are
  buffers, so the Actor's ONNX graph contains the normalization (ML-Agents does the same).
* :class:`ValueNorm` is MAPPO's value normalizer (Yu et al. 2022): a debiased exponential moving
  average of the returns' mean and mean square.
* :class:`RunningMeanStd` + :class:`DiscountedReturn` give the running std of intrinsic returns
  that curiosity rewards are divided by (Burda et al. 2019).

All statistics stay on the tensors' device; nothing here forces a host sync.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RunningNorm(nn.Module):
    """Per-column ``(x - mean) / std`` clipped to ``[-clip, clip]``, statistics from :meth:`update`.

    Before the first update it is the identity (mean 0, var 1). Counts are float64 so that long
    runs do not lose precision; only mean and var (float32) are used in ``forward``.
    """

    def __init__(self, size: int, clip: float = 5.0, eps: float = 1e-4):
        super().__init__()
        self.clip, self.eps = float(clip), float(eps)
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        return ((x - self.mean) / torch.sqrt(self.var + self.eps)).clamp(-self.clip, self.clip)

    @torch.no_grad()
    def update(self, rows: Tensor, weight: Tensor | None = None) -> None:
        """Merge the statistics of ``rows`` [..., size]; ``weight`` [...] (0/1) selects rows."""
        x = rows.reshape(-1, rows.shape[-1]).to(torch.float64)
        if weight is None:
            w = torch.ones(x.shape[0], dtype=torch.float64, device=x.device)
        else:
            w = weight.reshape(-1).to(torch.float64)
        n = w.sum()
        safe_n = n.clamp(min=1.0)
        batch_mean = (x * w[:, None]).sum(0) / safe_n
        batch_var = (((x - batch_mean) ** 2) * w[:, None]).sum(0) / safe_n
        # Chan et al. parallel merge; a batch with no selected rows leaves everything unchanged.
        total = self.count + n
        safe_total = total.clamp(min=1.0)
        delta = batch_mean - self.mean.to(torch.float64)
        new_mean = self.mean.to(torch.float64) + delta * n / safe_total
        m2 = (self.var.to(torch.float64) * self.count + batch_var * n
              + delta ** 2 * self.count * n / safe_total)
        new_var = m2 / safe_total
        keep = total <= 0
        self.mean.copy_(torch.where(keep, self.mean.to(torch.float64), new_mean).float())
        self.var.copy_(torch.where(keep, self.var.to(torch.float64), new_var).float())
        self.count.copy_(total)


class ValueNorm(nn.Module):
    """MAPPO's value normalizer: debiased EMA of mean and mean square with rate ``beta``."""

    def __init__(self, size: int = 1, beta: float = 0.99999, eps: float = 1e-5,
                 var_floor: float = 1e-2):
        super().__init__()
        self.beta, self.eps, self.var_floor = float(beta), float(eps), float(var_floor)
        self.register_buffer("running_mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("debias", torch.zeros((), dtype=torch.float64))

    def mean_var(self) -> tuple[Tensor, Tensor]:
        d = self.debias.clamp(min=self.eps)
        mean = self.running_mean / d
        var = (self.running_mean_sq / d - mean ** 2).clamp(min=self.var_floor)
        return mean, var

    @torch.no_grad()
    def update(self, x: Tensor, weight: Tensor | None = None) -> None:
        """``x`` [..., size]; ``weight`` [...] selects the samples that count."""
        v = x.reshape(-1, x.shape[-1]).to(torch.float64)
        w = (torch.ones(v.shape[0], dtype=torch.float64, device=v.device) if weight is None
             else weight.reshape(-1).to(torch.float64))
        n = w.sum().clamp(min=1.0)
        batch_mean = (v * w[:, None]).sum(0) / n
        batch_sq = (v ** 2 * w[:, None]).sum(0) / n
        b = self.beta
        self.running_mean.mul_(b).add_(batch_mean * (1 - b))
        self.running_mean_sq.mul_(b).add_(batch_sq * (1 - b))
        self.debias.mul_(b).add_(1 - b)

    def normalize(self, x: Tensor) -> Tensor:
        mean, var = self.mean_var()
        return ((x - mean) / torch.sqrt(var)).to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        mean, var = self.mean_var()
        return (x * torch.sqrt(var) + mean).to(x.dtype)


class RunningMeanStd(nn.Module):
    """Mean and variance of every value ever seen (parallel merge), as float64 buffers."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("var", torch.ones((), dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: Tensor, weight: Tensor | None = None) -> None:
        v = x.reshape(-1).to(torch.float64)
        w = torch.ones_like(v) if weight is None else weight.reshape(-1).to(torch.float64)
        n = w.sum()
        safe_n = n.clamp(min=1.0)
        bm = (v * w).sum() / safe_n
        bv = (((v - bm) ** 2) * w).sum() / safe_n
        total = self.count + n
        safe_total = total.clamp(min=1.0)
        delta = bm - self.mean
        new_mean = self.mean + delta * n / safe_total
        new_var = (self.var * self.count + bv * n + delta ** 2 * self.count * n / safe_total) / safe_total
        keep = total <= 0
        self.mean.copy_(torch.where(keep, self.mean, new_mean))
        self.var.copy_(torch.where(keep, self.var, new_var))
        self.count.copy_(total)

    @property
    def std(self) -> Tensor:
        return torch.sqrt(self.var).clamp(min=1e-8)


class DiscountedReturn(nn.Module):
    """Per-stream discounted sum of rewards, ``ret = gamma * ret + r`` (Burda et al.'s
    RewardForwardFilter); its running std scales intrinsic rewards."""

    def __init__(self, shape: tuple[int, ...], gamma: float):
        super().__init__()
        self.gamma = float(gamma)
        self.register_buffer("ret", torch.zeros(shape, dtype=torch.float64))

    @torch.no_grad()
    def step(self, reward: Tensor) -> Tensor:
        self.ret.mul_(self.gamma).add_(reward.to(torch.float64))
        return self.ret.clone()
