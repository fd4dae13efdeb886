"""The pretrained pair in models/quadrant: it passes the export checks, it still fits the world
contract, and a seeded evaluation reproduces its model card."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import onnx
import pytest

from hideseek.checkpoint import list_checkpoints, load_policy
from hideseek.contract import load_world_config
from hideseek.export_verify import check_operators, random_batch, verify_export
from hideseek.model_card import CARD_FILE, EVALUATION_FILE, REPLAY_FILE, evaluate_pair
from hideseek.onnx_policy import META_LAYOUT, OnnxPolicy, contract_output_names
from hideseek.play import SHIPPED_MODELS

FILES = {"hider": SHIPPED_MODELS / "Hider.onnx", "seeker": SHIPPED_MODELS / "Seeker.onnx"}
WORLD = load_world_config("quadrant")
RUN = SHIPPED_MODELS.parent / "quadrant_doors_run"   # the committed run the pair comes from


@pytest.mark.parametrize("team", sorted(FILES))
def test_shipped_file_passes_the_export_checks(team):
    path = FILES[team]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    check_operators(model, path)
    policy = OnnxPolicy(path)
    policy.check_fits(WORLD.layout.obs_shapes, team, role=team)
    assert [o.name for o in model.graph.output] == list(contract_output_names(policy.memory_size))
    batch = random_batch(WORLD.layout, 64, policy.memory_size, seed=3)
    actions, _ = policy.act(batch.obs, batch.masks, batch.memory)
    offsets = np.cumsum((0,) + WORLD.layout.action_branches[:-1])
    assert np.all(np.take_along_axis(batch.masks, actions + offsets, axis=1) == 1.0)


@pytest.mark.parametrize("team", sorted(FILES))
def test_shipped_file_matches_the_current_contract_layout(team):
    """Observation or critic layout changed since the export: the models are stale."""
    meta = {p.key: p.value for p in onnx.load(str(FILES[team])).metadata_props}
    assert json.loads(meta[META_LAYOUT]) == json.loads(json.dumps(WORLD.layout.describe())), \
        "models/quadrant was exported under another contract layout: retrain and re-export"


def shipped_checkpoint() -> int:
    """The update the card says the pair was exported from."""
    updates = set(re.findall(r"Exported from the run's checkpoint update_(\d+)\.safetensors",
                             (SHIPPED_MODELS / CARD_FILE).read_text()))
    assert len(updates) == 1, f"{CARD_FILE} must name the one checkpoint the pair comes from"
    return int(updates.pop())


@pytest.mark.parametrize("team", sorted(FILES))
def test_shipped_file_is_the_committed_checkpoint_the_card_names(team):
    """The pair is the checkpoint of models/quadrant_doors_run that the card names, so anyone can
    re-export it; the folder's newest checkpoint is where a `--resume` continues."""
    # Not committed: load_policy stops with the updates the run folder does hold.
    policy = load_policy(RUN, checkpoint=shipped_checkpoint())
    assert policy.world.layout.describe() == WORLD.layout.describe()
    verify_export(FILES[team], policy.actors[team], WORLD.layout, team,
                  [random_batch(WORLD.layout, 64, 0, seed=5)])
    assert max(list_checkpoints(RUN)) >= policy.update


def test_seeded_evaluation_reproduces_the_model_card():
    card = json.loads((SHIPPED_MODELS / EVALUATION_FILE).read_text())
    assert card["episodes"] >= 200
    check = evaluate_pair(SHIPPED_MODELS, episodes=32, seed=card["seed"])
    for name, s in card["statistics"].items():
        # The card's noise: a 32-episode mean lies within 4 standard errors of the card's, plus
        # what one episode can move it by (a rare event: one episode in 32 is 1/32 of its value).
        noise = 4 * s["std"] / math.sqrt(32) + max(abs(s["max"]), abs(s["min"])) / 32 + 1e-6
        got = check["statistics"][name]["mean"]
        assert abs(got - s["mean"]) <= noise, (name, got, s["mean"], noise)


def test_the_card_links_a_replay_of_the_pair():
    """models/quadrant/replay.html: the card's first episodes (same seeds), linked from the card."""
    from hideseek.replay.page import FORMAT
    from test_replay import page_data

    assert f"]({REPLAY_FILE})" in (SHIPPED_MODELS / CARD_FILE).read_text()
    data = page_data(SHIPPED_MODELS / REPLAY_FILE)
    card = json.loads((SHIPPED_MODELS / EVALUATION_FILE).read_text())
    assert data["format"] == FORMAT and len(data["episodes"]) >= 1
    assert [e["seed"] for e in data["episodes"]] == [card["seed"] + i
                                                     for i in range(len(data["episodes"]))]
    assert all(e["steps"] == WORLD.horizon for e in data["episodes"])


def test_the_card_compares_the_pair_with_random_play_and_the_scripted_ceiling():
    """Rows evaluated on the card's own seeds: what random play reaches and what the world
    allows (the scripted room-sealing team seals the room in most episodes)."""
    card = json.loads((SHIPPED_MODELS / EVALUATION_FILE).read_text())
    refs = card["references"]
    assert set(refs) == {"random play", "scripted ceiling"}
    for ref in refs.values():
        assert ref["episodes"] == card["episodes"] and ref["seed"] == card["seed"]
    assert refs["scripted ceiling"]["statistics"]["room_sealed_prep"]["mean"] >= 0.7
    assert refs["random play"]["statistics"]["room_sealed_prep"]["mean"] <= 0.05
