"""Mixing dataset files: every line of one, a seeded sample of another, writers kept apart."""

import numpy as np
import pytest

from conftest import make_tiny_dataset
from handwriting.datasets.format import split_by_writer
from handwriting.datasets.mix import MixPart, keep_training_writers, mix_datasets, parse_part
from handwriting.errors import HandwritingError


def _with(dataset, **metadata):
    dataset.metadata.update(metadata)
    return dataset


def test_a_mix_keeps_all_of_one_part_and_a_sample_of_the_other():
    human = _with(make_tiny_dataset(n=12, seed=1), data_source={"name": "UNIPEN", "doi": "x"}, x_height_units=20.0)
    fonts = _with(make_tiny_dataset(n=30, seed=2), source="fonts", x_height_units=20.0)
    mixed = mix_datasets([MixPart("unipen", human), MixPart("fonts", fonts, lines=10)], seed=3)
    assert len(mixed) == 22
    assert mixed.texts[:12] == human.texts
    sampled = mixed.texts[12:]
    assert set(sampled) <= set(fonts.texts)
    again = mix_datasets([MixPart("unipen", human), MixPart("fonts", fonts, lines=10)], seed=3)
    assert again.texts == mixed.texts  # seeded
    # Writers of different parts never merge, so the split by writer stays disjoint.
    assert all(w.startswith(("unipen:", "fonts:")) for w in mixed.writers)
    sampled_writers = {fonts.writers[fonts.writer_ids[fonts.texts.index(t)]] for t in sampled}
    assert len(mixed.writers) == len(human.writers) + len(sampled_writers)
    assert mixed.metadata["data_source"] == [
        {"part": "unipen", "name": "UNIPEN", "doi": "x", "lines": 12, "of": 12},
        {"part": "fonts", "name": "fonts", "lines": 10, "of": 30}]
    all_offsets = np.concatenate([o[1:, :2] for o in mixed.offsets])
    assert mixed.scale == pytest.approx(float(np.std(all_offsets)), rel=1e-6)


def test_parts_must_be_of_one_size():
    a = _with(make_tiny_dataset(n=4), x_height_units=20.0)
    b = _with(make_tiny_dataset(n=4), x_height_units=10.0)
    with pytest.raises(HandwritingError, match="different sizes"):
        mix_datasets([MixPart("a", a), MixPart("b", b)])


def test_parts_of_one_name_share_their_writers_and_leave_the_split_as_it_was():
    from handwriting.datasets import split_by_writer

    human = _with(make_tiny_dataset(n=40, seed=1), x_height_units=20.0)
    fonts = _with(make_tiny_dataset(n=30, seed=2), x_height_units=20.0)
    more = _with(make_tiny_dataset(n=6, seed=3), x_height_units=20.0)  # more lines by some of the same writers
    more.writers = list(fonts.writers[: len(more.writers)])
    before = mix_datasets([MixPart("human", human), MixPart("fonts", fonts, lines=20)], seed=3)
    after = mix_datasets([MixPart("human", human), MixPart("fonts", fonts, lines=20), MixPart("fonts", more)], seed=3)
    assert after.texts[: len(before)] == before.texts  # the same sample, then the new lines
    assert len(after) == len(before) + len(more)
    assert after.writers == before.writers  # no new writer: the sample had lines by all four
    held_out = lambda d: sorted({d.writers[d.writer_ids[i]] for i in split_by_writer(d, 0.2, 0)[1]})  # noqa: E731
    assert [w for w in held_out(after) if w.startswith("human:")] == \
        [w for w in held_out(before) if w.startswith("human:")]


@pytest.mark.parametrize("text, expected", [("data/u.npz", ("data/u.npz", None, "")),
                                            ("f.npz:500", ("f.npz", 500, "")),
                                            ("f.npz:500+0123456789", ("f.npz", 500, "0123456789")),
                                            ("c:/x.npz", ("c:/x.npz", None, ""))])
def test_parse_part(text, expected):
    assert parse_part(text) == expected


@pytest.mark.parametrize("text", ["f.npz+12", "f.npz:500+"])
def test_parse_part_refuses_characters_without_a_sample(text):
    with pytest.raises(HandwritingError, match="CHARS"):
        parse_part(text)


def test_a_sampled_part_may_also_take_every_line_with_some_characters():
    human = _with(make_tiny_dataset(n=6, seed=1), x_height_units=20.0)
    fonts = _with(make_tiny_dataset(n=30, seed=2), x_height_units=20.0)
    fonts.texts = [f"line {i}" if i % 5 == 0 else f"words {'abcdefghijklmnopqrstuvwxyz'[i % 26]}{'ab'[i // 26]}" for i in range(30)]
    plain = mix_datasets([MixPart("unipen", human), MixPart("fonts", fonts, lines=8)], seed=3)
    more = mix_datasets([MixPart("unipen", human), MixPart("fonts", fonts, lines=8, also_with="0123456789")], seed=3)
    with_digits = {t for t in fonts.texts if any(c.isdigit() for c in t)}
    assert with_digits <= set(more.texts)
    assert set(plain.texts) <= set(more.texts)  # the same sample, then the lines with digits
    assert len(more) == len(plain) + len(with_digits - set(plain.texts))
    assert len(set(more.texts[len(human):])) == len(more) - len(human)  # nothing taken twice


def test_provenance_completes_a_known_source_from_its_current_record():
    from handwriting.datasets.format import StrokeDataset
    from handwriting.datasets.provenance import provenance_of
    from handwriting.datasets.unipen import SOURCE

    old = {key: value for key, value in SOURCE.items() if key != "terms"}  # a dataset written before "terms"
    dataset = StrokeDataset(offsets=[np.zeros((2, 3), np.float32)], texts=["a"], writer_ids=np.zeros(1, np.int32),
                            writers=["w"], scale=1.0,
                            metadata={"data_source": [{**old, "part": "unipen", "lines": 1}, {"name": "fonts"}]})
    human, fonts = provenance_of(dataset)["sources"]
    assert human["terms"] == SOURCE["terms"] and "research" in human["terms"] and "CC BY 4.0" in human["terms"]
    assert human["part"] == "unipen" and human["doi"] == "10.5281/zenodo.1195803"
    assert fonts == {"name": "fonts"}
    dataset.metadata = {}
    assert provenance_of(dataset) is None


def test_keep_training_writers_drops_held_out_and_unknown_writers():
    human, fonts = make_tiny_dataset(n=40, seed=1, writers=8), make_tiny_dataset(n=20, seed=2, writers=4)
    mix = mix_datasets([MixPart("human", human), MixPart("fonts", fonts)])
    _, held = split_by_writer(mix, 0.3, 0)
    held_names = {mix.writers[w] for w in np.unique(mix.writer_ids[held])}
    more = make_tiny_dataset(n=30, seed=3, writers=10)  # writers w0..w9; the mix's human part has w0..w7
    kept = keep_training_writers(more, mix, "human", 0.3)
    names = {kept.writers[w] for w in kept.writer_ids}
    assert names and all(f"human:{n}" in mix.writers and f"human:{n}" not in held_names for n in names)
    expected = sum(1 for w in more.writer_ids if f"human:{more.writers[w]}" in set(mix.writers) - held_names)
    assert len(kept) == expected
    with pytest.raises(HandwritingError, match="none of the writers"):
        keep_training_writers(more, mix, "nobody", 0.3)
