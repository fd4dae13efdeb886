"""The evaluation of a shipped ONNX pair: ``python -m hideseek.model_card models/quadrant``.

Plays the folder's ``Hider.onnx`` and ``Seeker.onnx`` with onnxruntime in the batched twin
(what ``hideseek play`` does: episode k is the one-arena episode with seed ``seed + k``), then
writes ``evaluation.json`` (per statistic: mean, standard deviation, standard error; win rates),
the statistics table of ``MODEL_CARD.md`` between its ``<!-- evaluation -->`` markers and
``replay.html``, a 3-D replay of the first episodes. Beside the pair the card has reference rows
on the same seeds: random play, and the scripted room-sealing hider team (``hideseek.scripted``,
the ceiling of what the world allows in prep) against the pair's seeker. The test suite replays a seeded subset of
the episodes and holds the card to these figures.

:func:`evaluate_actors` evaluates any (hider, seeker) pair of
:class:`~hideseek.evaluation.actors.TeamActor` s on the same seeds (a scripted team, random
play, another run's policies), so rows of the card compare like with like.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping, Sequence

from .contract import WorldConfig, load_world_config
from .evaluation.statistics import summarize, win_rates
from .play import EVAL_THREADS, SHIPPED_MODELS, load_policies

EVALUATION_FILE = "evaluation.json"
CARD_FILE = "MODEL_CARD.md"
REPLAY_FILE = "replay.html"
BEGIN, END = "<!-- evaluation -->", "<!-- /evaluation -->"
# Figures the card leads with (WORLD.md "Episode statistics" names).
HEADLINE = ("hidden_fraction", "doors_blocked_prep", "room_sealed_prep", "boxes_locked_prep_by_hiders",
            "max_ramp_displacement", "seeker_on_top_steps")


def evaluate_actors(actors: Mapping[str, object], episodes: int, seed: int,
                    world: WorldConfig | str = "quadrant", observers: Sequence[object] = ()) -> dict:
    """One call for any pair ``{"hider": TeamActor, "seeker": TeamActor}``: ``episodes``
    episodes with seeds ``seed .. seed + episodes - 1`` in the batched twin -> the card's
    evaluation (statistics with standard errors, win rates)."""
    import torch

    from .evaluation.runner import run_episodes, twin_factory

    if isinstance(world, str):
        world = load_world_config(world)
    torch.set_num_threads(EVAL_THREADS)
    results = run_episodes(twin_factory(world), actors, episodes, seed=seed, observers=observers)
    return {"episodes": episodes, "seed": seed, "arena": world.scenario,
            "statistics": summarize(results), "win_rates": win_rates(results)}


def evaluate_pair(folder: Path, episodes: int, seed: int, arena: str = "quadrant",
                  observers: Sequence[object] = ()) -> dict:
    """The folder's ONNX pair, sampling in the graph (onnxruntime seeded with ``seed``)."""
    from .evaluation.actors import OnnxActor

    policies = load_policies(folder / "Hider.onnx", folder / "Seeker.onnx", seed=seed)
    actors = {team: OnnxActor(policy) for team, policy in policies.items()}
    return evaluate_actors(actors, episodes, seed, arena, observers)


def evaluate_references(folder: Path, episodes: int, seed: int, arena: str = "quadrant"
                        ) -> dict[str, dict]:
    """The card's reference rows on the same seeds: uniformly random play by both teams, and
    (quadrant) the scripted room-sealing hider team against the folder's seeker."""
    from .evaluation.actors import OnnxActor, RandomActor
    from .scripted import RoomSealer

    world = load_world_config(arena)
    rows = {"random play": evaluate_actors({"hider": RandomActor(), "seeker": RandomActor()},
                                           episodes, seed, world)}
    if world.scenario == "quadrant":
        seeker = load_policies(folder / "Hider.onnx", folder / "Seeker.onnx", seed=seed)["seeker"]
        rows["scripted ceiling"] = evaluate_actors(
            {"hider": RoomSealer(world), "seeker": OnnxActor(seeker)}, episodes, seed, world)
    return rows


def table(evaluation: dict) -> str:
    """The pair's statistics (mean, std, standard error), then each reference row's mean."""
    refs = evaluation.get("references", {})
    head = "| statistic | mean | std | standard error |" + "".join(f" {r} |" for r in refs)
    rows = [head, "| --- | ---: | ---: | ---: |" + " ---: |" * len(refs)]
    stats = evaluation["statistics"]
    for name in list(HEADLINE) + [n for n in stats if n not in HEADLINE]:
        if name in stats:
            s = stats[name]
            rows.append(f"| `{name}` | {s['mean']:.3f} | {s['std']:.3f} | {s['sem']:.3f} |"
                        + "".join(f" {r['statistics'][name]['mean']:.3f} |" for r in refs.values()))
    w = evaluation["win_rates"]
    text = ("\n".join(rows) + f"\n\nWin rates over {evaluation['episodes']} episodes (seed "
            f"{evaluation['seed']}; hiders win when hidden more than half of the post-prep steps): "
            f"hiders {w['hider']:.1%}, seekers {w['seeker']:.1%}, draws {w['draw']:.1%}.")
    for name, r in refs.items():
        rw = r["win_rates"]
        text += f" {name.capitalize()}: hiders {rw['hider']:.1%}, seekers {rw['seeker']:.1%}."
    return text


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
    ap.add_argument("--episodes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay-episodes", type=int, default=6,
                    help=f"episodes recorded into FOLDER/{REPLAY_FILE} (0: none)")
    args = ap.parse_args(argv)
    for name in ("Hider.onnx", "Seeker.onnx"):
        if not (args.folder / name).is_file():
            print(f"model_card: {args.folder / name}: no such file; expected an exported pair",
                  file=sys.stderr)
            return 2
    if args.episodes < 1 or args.replay_episodes < 0:
        print(f"model_card: --episodes {args.episodes} --replay-episodes {args.replay_episodes}: "
              "expected at least 1 episode and a replay count >= 0", file=sys.stderr)
        return 2
    from .replay import ReplayRecorder, write_replay

    recorder = ReplayRecorder(min(args.replay_episodes, args.episodes)) if args.replay_episodes else None
    evaluation = evaluate_pair(args.folder, args.episodes, args.seed,
                               observers=[recorder] if recorder is not None else [])
    evaluation["references"] = evaluate_references(args.folder, args.episodes, args.seed)
    write_card(args.folder, evaluation)
    print(table(evaluation))
    if recorder is not None:
        path = write_replay(args.folder / REPLAY_FILE, recorder.episodes, recorder.world,
                            f"{args.folder.name}: Hider.onnx vs Seeker.onnx",
                            {"hider": "Hider.onnx", "seeker": "Seeker.onnx"},
                            f"hideseek play --hider {args.folder}/Hider.onnx --seeker "
                            f"{args.folder}/Seeker.onnx --episodes 1 --seed {{seed}}")
        print(f"model_card: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
