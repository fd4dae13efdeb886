"""The world contract in code: arena files, validation errors, layout sizes."""

import pytest

from hideseek.config_io import ConfigError, parse_overrides
from hideseek.contract import (ACTION_BRANCHES, AGENT_COLUMNS, OBJECT_COLUMNS, load_world_config)


def test_arena_files_load_and_sizes_follow_world_md():
    q = load_world_config("quadrant")
    assert (q.horizon, q.n_hiders, q.n_seekers, q.n_boxes, q.n_ramps) == (80, (2, 2), (2, 2), (2, 2), (1, 1))
    assert q.layout.obs_shapes == ((41,), (3, 10), (2, 14), (1, 14))
    assert q.prep_steps == 32
    r = load_world_config("random_rooms")
    assert r.horizon == 240 and r.n_boxes == (3, 9) and r.layout.obs_shapes[2] == (9, 14)
    assert ACTION_BRANCHES == (11, 11, 11, 2, 2)
    assert len(AGENT_COLUMNS) == 10 and len(OBJECT_COLUMNS) == 14
    # WORLD.md's critic input: agents (present + full self vector), boxes, ramps, walls, time.
    assert [b[0] for b in q.layout.state_blocks] == ["agents", "boxes", "ramps", "walls", "globals"]
    assert q.layout.state_size == 4 * (1 + 41) + 3 * 14 + 8 * 5 + 2
    assert q.layout.state_agent_columns[1:] == q.layout.self_columns
    assert q.layout.team_slices() == {"hider": slice(0, 2), "seeker": slice(2, 4)}


@pytest.mark.parametrize("override, key, expected", [
    ({"horizon": 1}, "horizon", ">= 2"),
    ({"horizon": 3.5}, "horizon", "an integer"),
    ({"scenario": "maze"}, "scenario", "one of 'quadrant', 'random_rooms'"),
    ({"n_boxes": [3, 1]}, "n_boxes", "min <= max"),
    ({"n_boxes": 2, "n_elongated_boxes": 3}, "n_elongated_boxes", "max <= n_boxes max"),
    ({"door_width": 0.2}, "door_width", "wider than an agent"),
    ({"colour": "red"}, "colour", "a known key"),
    ({"dt": "fast"}, "dt", "a number"),
])
def test_bad_values_name_file_key_value_and_rule(override, key, expected):
    with pytest.raises(ConfigError) as err:
        load_world_config("quadrant", override)
    text = str(err.value)
    assert "quadrant.yaml" in text and key in text and expected in text


def test_missing_arena_and_malformed_yaml(tmp_path):
    with pytest.raises(ConfigError, match="an arena name"):
        load_world_config("nowhere")
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon: [1,\n")
    with pytest.raises(ConfigError, match="valid YAML"):
        load_world_config(bad)


def test_overrides_parse_as_yaml_values():
    assert parse_overrides(["a.b=1", "c=[1, 2]", "d=x"]) == {"a": {"b": 1}, "c": [1, 2], "d": "x"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["novalue"])


def test_world_version_tells_v1_worlds_from_v1_1():
    from hideseek.contract import WORLD_VERSION, world_to_dict, world_version
    now = world_to_dict(load_world_config("quadrant"))
    assert world_version(now) == WORLD_VERSION == "1.1"
    v1 = {k: v for k, v in now.items() if k not in ("floor_friction", "gravity", "physics_substeps")}
    assert world_version(v1) == "1"
