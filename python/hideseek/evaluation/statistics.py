"""Episode statistics of an evaluation: who won, the table ``play``/``eval`` print, and the
summaries the model card and the trainer's periodic evaluation write. numpy only (no torch), so
``hideseek play`` against a Unity build imports nothing heavier."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..contract import EPISODE_STATS

Episode = Mapping[str, float]   # one episode's WORLD.md statistics, by contract.EPISODE_STATS name


def outcome(stats: Episode) -> str:
    """Who won an episode: the hiders when they stayed hidden in more than half of the hiding
    phase's steps (their team return is then positive), the seekers when less, else a draw."""
    hidden = float(stats["hidden_fraction"])
    if hidden > 0.5:
        return "hider"
    if hidden < 0.5:
        return "seeker"
    return "draw"


def win_rates(episodes: Sequence[Episode]) -> dict[str, float]:
    if not episodes:
        return {"hider": 0.0, "seeker": 0.0, "draw": 0.0}
    results = [outcome(e) for e in episodes]
    return {k: results.count(k) / len(results) for k in ("hider", "seeker", "draw")}


def summarize(episodes: Sequence[Episode]) -> dict[str, dict[str, float]]:
    """Per statistic: mean, sample standard deviation, standard error of the mean, and the
    smallest and largest value of an episode."""
    out = {}
    for name in EPISODE_STATS:
        values = np.array([float(e[name]) for e in episodes if name in e], dtype=np.float64)
        if len(values):
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            out[name] = {"mean": float(values.mean()), "std": std,
                         "sem": std / math.sqrt(len(values)), "min": float(values.min()),
                         "max": float(values.max())}
    return out


def mean_scalars(episodes: Sequence[Episode], prefix: str) -> dict[str, float]:
    """``{prefix/statistic: mean, prefix/win_rate_<team>: rate}``: one evaluation as log scalars."""
    out = {f"{prefix}/{name}": s["mean"] for name, s in summarize(episodes).items()}
    out.update({f"{prefix}/win_rate_{team}": rate for team, rate in win_rates(episodes).items()})
    return out


def format_report(episodes: Sequence[Episode], title: str) -> str:
    """The statistics table (mean, std, min, max over episodes) followed by the win rates."""
    lines = [f"{title}: {len(episodes)} episodes"]
    width = max(len(name) for name in EPISODE_STATS)
    lines.append(f"  {'statistic':<{width}}  {'mean':>9}  {'std':>9}  {'min':>9}  {'max':>9}")
    for name in EPISODE_STATS:
        values = np.array([float(e[name]) for e in episodes if name in e], dtype=np.float64)
        if len(values) == 0:
            lines.append(f"  {name:<{width}}  {'n/a':>9}")
            continue
        lines.append(f"  {name:<{width}}  {values.mean():9.3f}  {values.std():9.3f}  "
                     f"{values.min():9.3f}  {values.max():9.3f}")
    rates = win_rates(episodes)
    lines.append(f"  win rate: hiders {rates['hider']:.1%}, seekers {rates['seeker']:.1%}, "
                 f"draws {rates['draw']:.1%} (hiders win when hidden_fraction > 0.5)")
    return "\n".join(lines)
