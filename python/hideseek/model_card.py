"""The evaluation of a shipped ONNX pair: ``python -m hideseek.model_card models/quadrant``.

Plays the folder's ``Hider.onnx`` and ``Seeker.onnx`` with onnxruntime in the PettingZoo twin
(exactly what ``hideseek play`` does), then writes ``evaluation.json`` (per statistic: mean,
standard deviation, standard error; win rates) and the statistics table of ``MODEL_CARD.md``
between its ``<!-- evaluation -->`` markers. The test suite replays a seeded subset of the
episodes and holds the card to these figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from .contract import EPISODE_STATS
from .play import SHIPPED_MODELS, load_policies, open_env, play_episodes, win_rates

EVALUATION_FILE = "evaluation.json"
CARD_FILE = "MODEL_CARD.md"
BEGIN, END = "<!-- evaluation -->", "<!-- /evaluation -->"
# Figures the card leads with (WORLD.md "Episode statistics" names).
HEADLINE = ("hidden_fraction", "doors_blocked_prep", "room_sealed_prep", "boxes_locked_prep_by_hiders",
            "max_ramp_displacement", "seeker_on_top_steps")


def evaluate_pair(folder: Path, episodes: int, seed: int, arena: str = "quadrant") -> dict:
    policies = load_policies(folder / "Hider.onnx", folder / "Seeker.onnx", seed=seed)
    env = open_env("twin", arena, render=False, seed=seed)
    try:
        results = play_episodes(policies, env, episodes, seed=seed)
    finally:
        env.close()
    stats = {}
    for name in EPISODE_STATS:
        values = np.array([r[name] for r in results if name in r], dtype=float)
        if len(values):
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            stats[name] = {"mean": float(values.mean()), "std": std,
                           "sem": std / math.sqrt(len(values))}
    return {"episodes": episodes, "seed": seed, "arena": arena, "statistics": stats,
            "win_rates": win_rates(results)}


def table(evaluation: dict) -> str:
    rows = ["| statistic | mean | std | standard error |", "| --- | ---: | ---: | ---: |"]
    stats = evaluation["statistics"]
    for name in list(HEADLINE) + [n for n in stats if n not in HEADLINE]:
        if name in stats:
            s = stats[name]
            rows.append(f"| `{name}` | {s['mean']:.3f} | {s['std']:.3f} | {s['sem']:.3f} |")
    w = evaluation["win_rates"]
    return ("\n".join(rows) + f"\n\nWin rates over {evaluation['episodes']} episodes (seed "
            f"{evaluation['seed']}; hiders win when hidden more than half of the post-prep steps): "
            f"hiders {w['hider']:.1%}, seekers {w['seeker']:.1%}, draws {w['draw']:.1%}.")


def write_card(folder: Path, evaluation: dict) -> None:
    (folder / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=1) + "\n")
    card = folder / CARD_FILE
    text = card.read_text() if card.exists() else f"# {folder.name}\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{card}: expected the markers {BEGIN} and {END} around the table")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    card.write_text(f"{head}{BEGIN}\n{table(evaluation)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hideseek.model_card", description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=SHIPPED_MODELS)
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for name in ("Hider.onnx", "Seeker.onnx"):
        if not (args.folder / name).is_file():
            print(f"model_card: {args.folder / name}: no such file; expected an exported pair",
                  file=sys.stderr)
            return 2
    evaluation = evaluate_pair(args.folder, args.episodes, args.seed)
    write_card(args.folder, evaluation)
    print(table(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
