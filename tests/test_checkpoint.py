"""The typed checkpoint record (config.json): round trip, validation, the shipped files."""

import json
from pathlib import Path

import pytest

from handwriting.checkpoint import CONFIG_FILE, CheckpointConfig, read_config
from handwriting.config import ModelConfig, TrainConfig
from handwriting.errors import HandwritingError

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


def test_round_trip_keeps_every_field(tmp_path):
    record = CheckpointConfig(ModelConfig(lstm_units=8), TrainConfig(batch_size=4), scale=2.5, step=7,
                              default_style="neat", x_height=1.5, provenance={"source": "test"},
                              release={"note": "n"})
    record.save(tmp_path)
    assert read_config(tmp_path) == record
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["model"]["lstm_units"] == 8


@pytest.mark.parametrize("change, message", [
    ({"format_version": 99}, "format version 99"),
    ({"surprise": 1}, "unknown keys surprise"),
    ({"alphabet": {"version": 0, "characters": "ab"}}, "alphabet"),
    ({"model": {"lstm_units": "many"}}, "lstm_units"),
])
def test_bad_records_are_named(tmp_path, change, message):
    values = json.loads(CheckpointConfig(ModelConfig(), TrainConfig(), scale=1.0).to_json())
    values.update(change)
    (tmp_path / CONFIG_FILE).write_text(json.dumps(values))
    with pytest.raises(HandwritingError, match=message):
        read_config(tmp_path)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(HandwritingError, match="not a checkpoint directory"):
        read_config(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(HandwritingError, match="cannot read"):
        read_config(tmp_path)


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.iterdir() if (p / CONFIG_FILE).is_file()))
def test_shipped_checkpoints_read_back_unchanged(name):
    text = (SHIPPED / name / CONFIG_FILE).read_text()
    record = read_config(SHIPPED / name)
    assert json.loads(record.to_json()) == json.loads(text)
