"""``hideseek plot RUN_DIR``: the emergence dashboard from ``RUN_DIR/scalars.jsonl``.

Writes ``dashboard.png`` (team rewards, hidden fraction, box and ramp movement, locks, door
blocking, seekers on top, grabs; dashed lines = uniformly random play of both teams, from
``baseline.json``; dotted horizontals = the scripted room-sealing hider team, from
``ceiling.json``; dotted verticals = phase transitions, also in ``phases.json``) and
``training.png`` (losses, entropy, KL, clip fraction, explained variance,
curiosity, throughput). Curves are smoothed with a centred moving average; the raw values are
drawn faintly underneath so smoothing never hides noise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError

# (title, [(scalar key, label)]) per panel of the emergence dashboard.
DASHBOARD = (
    ("Team reward per episode", [("episode/hider_return", "hiders"), ("-episode/hider_return", "seekers")]),
    ("Hidden fraction (post-prep steps)", [("episode/hidden_fraction", "hidden")]),
    ("Box movement (max displacement, m)", [("episode/max_box_displacement_prep", "prep"),
                                            ("episode/max_box_displacement", "episode")]),
    ("Ramp movement (max displacement, m)", [("episode/max_ramp_displacement_prep", "prep"),
                                             ("episode/max_ramp_displacement", "episode")]),
    ("Locked at end of prep", [("episode/boxes_locked_prep_by_hiders", "boxes by hiders"),
                               ("episode/ramps_locked_prep_by_hiders", "ramps by hiders"),
                               ("episode/boxes_locked_prep_by_seekers", "boxes by seekers"),
                               ("episode/ramps_locked_prep_by_seekers", "ramps by seekers")]),
    ("Locked at end of episode", [("episode/boxes_locked_end_by_hiders", "boxes by hiders"),
                                  ("episode/ramps_locked_end_by_hiders", "ramps by hiders"),
                                  ("episode/boxes_locked_end_by_seekers", "boxes by seekers"),
                                  ("episode/ramps_locked_end_by_seekers", "ramps by seekers")]),
    ("Doors blocked at end of prep", [("episode/doors_blocked_prep", "doors blocked"),
                                      ("episode/room_sealed_prep", "room sealed")]),
    ("Seeker-on-top steps", [("episode/seeker_on_top_steps", "steps")]),
    ("Grabs per agent", [("episode/grabs_per_hider", "hider"), ("episode/grabs_per_seeker", "seeker")]),
)

# OpenAI's phases, each read from the first update where a statistic passes a margin above
# uniformly random play (``baseline.json``): (phase, statistic, margin).
PHASES = (
    ("chasing", "-episode/hider_return", 8.0),          # seekers' return beats random play
    ("hiding", "episode/hidden_fraction", 0.15),
    ("box moving in prep", "episode/max_box_displacement_prep", 0.5),
    ("box locking in prep", "episode/boxes_locked_prep_by_hiders", 0.5),
    ("door blocking", "episode/doors_blocked_prep", 0.25),
    ("room sealing", "episode/room_sealed_prep", 0.1),
    ("ramp use", "episode/seeker_on_top_steps", 2.0),
    ("ramp defense", "episode/ramps_locked_prep_by_hiders", 0.5),
)

# Statistics drawn with the scripted room-sealing team's level (``ceiling.json``, dotted): what
# the world allows in prep, the reference the door-blocking curves are read against.
CEILING_KEYS = ("doors_blocked_prep", "room_sealed_prep", "boxes_locked_prep_by_hiders")

TRAINING = (
    ("Policy loss", "policy_loss"), ("Value loss", "value_loss"), ("Entropy", "entropy"),
    ("Approx. KL", "approx_kl"), ("Clip fraction", "clip_fraction"),
    ("Explained variance (ext)", "explained_variance"), ("Intrinsic reward (normalized)", "reward_int"),
    ("ICM loss", "icm_loss"), ("Extrinsic reward per agent-step", "reward_ext"),
)


def read_scalars(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "scalars.jsonl"
    if not path.is_file():
        raise CheckpointError(path, "no such file", "a run directory written by hideseek train")
    records = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            # A run killed mid-write leaves at most a torn last line.
            if i != len(lines) - 1:
                raise CheckpointError(path, f"line {i + 1} is not JSON",
                                      "one JSON object per line") from None
    return records


def series(records: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(agent steps, values) of ``key`` ("-key" negates), skipping updates without episodes."""
    sign = -1.0 if key.startswith("-") else 1.0
    key = key.lstrip("-")
    xs, ys = [], []
    for r in records:
        if key in r and (not key.startswith("episode/") or r.get("episode/count", 1) > 0):
            xs.append(r["agent_steps"])
            ys.append(sign * r[key])
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


# The moving average spans 5 % of a run's updates, at most SMOOTH_MAX_UPDATES: a wider window
# averages a long run's early phases away (chasing, over in a few updates, would be found tens of
# millions of agent-steps late).
SMOOTH_MAX_UPDATES = 101


def smooth(y: np.ndarray, frac: float = 0.05) -> np.ndarray:
    w = min(max(1, int(len(y) * frac)), SMOOTH_MAX_UPDATES) | 1
    if len(y) < 3 or w == 1:
        return y
    pad = w // 2
    yp = np.pad(y, pad, mode="edge")
    return np.convolve(yp, np.ones(w) / w, mode="valid")


def phase_threshold(key: str, margin: float, baseline: dict | None) -> float | None:
    """The level a phase's statistic (``key``, "-key" negated) must pass: random play's value
    (``baseline``) plus ``margin``; None without a baseline value for it."""
    name = key.lstrip("-").split("/", 1)[-1]
    if not baseline or name not in baseline:
        return None
    return (-1.0 if key.startswith("-") else 1.0) * baseline[name] + margin


def phase_transitions(records: list[dict], baseline: dict | None) -> dict[str, dict]:
    """Phase -> {"statistic", "update", "agent_steps", "threshold"} of the first update whose smoothed
    statistic passes the phase's margin above random play (phases not reached are left out)."""
    found = {}
    for phase, key, margin in PHASES:
        threshold = phase_threshold(key, margin, baseline)
        if threshold is None:
            continue
        x, y = series(records, key)
        above = np.flatnonzero(smooth(y) > threshold) if len(y) else []
        if len(above):
            steps = float(x[above[0]])
            update = next(r["update"] for r in records if r["agent_steps"] == steps)
            found[phase] = {"statistic": key, "update": int(update), "agent_steps": int(steps),
                            "threshold": round(threshold, 4)}
    return found


def _panel(ax, records, keys, title, baseline=None, ceiling=None):
    import matplotlib.pyplot as plt

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (key, label) in enumerate(keys):
        x, y = series(records, key)
        if len(x) == 0:
            continue
        c = colors[i % len(colors)]
        ax.plot(x, y, color=c, alpha=0.2, lw=0.8)
        ax.plot(x, smooth(y), color=c, lw=1.8, label=label)
        base_key = key.lstrip("-").split("/", 1)[-1]
        if baseline and base_key in baseline:
            sign = -1.0 if key.startswith("-") else 1.0
            ax.axhline(sign * baseline[base_key], color=c, ls="--", lw=1.0)
        if ceiling and base_key in CEILING_KEYS and base_key in ceiling:
            ax.axhline(ceiling[base_key], color=c, ls=":", lw=1.4)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("agent steps", fontsize=8)
    ax.tick_params(labelsize=8)
    if len(keys) > 1 and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def write_dashboard(run_dir: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write the PNGs; returns their paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    records = read_scalars(run_dir)
    if not records:
        raise CheckpointError(run_dir / "scalars.jsonl", "empty", "at least one logged update")
    out = Path(out) if out is not None else run_dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    base_path, ceiling_path = run_dir / "baseline.json", run_dir / "ceiling.json"
    baseline = json.loads(base_path.read_text()) if base_path.is_file() else None
    ceiling = json.loads(ceiling_path.read_text()) if ceiling_path.is_file() else None
    last = records[-1]
    written = []

    phases = phase_transitions(records, baseline)
    (out / "phases.json").write_text(json.dumps(phases, indent=1))
    fig, axes = plt.subplots(3, 3, figsize=(15, 11))
    for ax, (title, keys) in zip(axes.flat, DASHBOARD):
        _panel(ax, records, keys, title, baseline, ceiling)
        for phase, at in phases.items():  # OpenAI's phase figure: where each behaviour starts
            ax.axvline(at["agent_steps"], color="grey", lw=0.7, ls=":")
            if at["statistic"] in {k for k, _ in keys}:
                ax.annotate(phase, (at["agent_steps"], 0.98), xycoords=("data", "axes fraction"),
                            fontsize=7, rotation=90, va="top", ha="right", color="grey")
    parts = (["dashed: random play"] if baseline else []) + \
        (["dotted: scripted room sealing"] if ceiling else [])
    note = f" ({'; '.join(parts)})" if parts else ""
    fig.suptitle(f"{run_dir.name}: emergence dashboard{note} - {last['agent_steps']:,} agent steps, "
                 f"{last.get('minutes', 0):.1f} min", fontsize=12)
    fig.tight_layout()
    path = out / "dashboard.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)

    fig, axes = plt.subplots(3, 4, figsize=(18, 11))
    # Per team, or for the one policy both teams share (keys "shared/...").
    panels = [(t, [(f"hider/{k}", "hiders"), (f"seeker/{k}", "seekers"), (f"shared/{k}", "shared")])
              for t, k in TRAINING]
    panels += [("Agent-steps per second", [("perf/sps", "sps")]),
               ("Time shares", [("perf/sim_share", "sim"), ("perf/policy_share", "policy"),
                                ("perf/update_share", "update")]),
               ("Value clip fraction", [("hider/value_clip_fraction", "hiders"),
                                        ("seeker/value_clip_fraction", "seekers"),
                                        ("shared/value_clip_fraction", "shared")])]
    for ax, (title, keys) in zip(axes.flat, panels):
        _panel(ax, records, keys, title)
    fig.suptitle(f"{run_dir.name}: training diagnostics", fontsize=12)
    fig.tight_layout()
    path = out / "training.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    written.append(path)
    return written


def main(args) -> int:
    for p in write_dashboard(args.run_dir, args.out):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(type("A", (), {"run_dir": sys.argv[1], "out": None})()))
