"""Atomic writes: all or nothing, and the permissions a plain open() would give."""

import os
import stat

import pytest

from handwriting.errors import HandwritingError
from handwriting.fileio import atomic_path, write_text_atomic


def test_atomic_write_gives_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "b.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(HandwritingError, match="does not exist"):
        write_text_atomic(tmp_path / "nope" / "c.txt", "x")


def test_atomic_directory_replaces_whole_or_not_at_all(tmp_path):
    from handwriting.fileio import atomic_directory

    target = tmp_path / "ckpt"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("second")
            raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "first"  # the old directory is untouched
    with atomic_directory(target) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary or old directory left


def test_atomic_path_keeps_the_suffix_a_writer_insists_on(tmp_path):
    from handwriting.fileio import atomic_path

    with atomic_path(tmp_path / "w.weights.h5", suffix=".weights.h5") as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.name.startswith(".")
        tmp.write_bytes(b"x")
    assert (tmp_path / "w.weights.h5").read_bytes() == b"x"


@pytest.mark.parametrize("path, requested, expected", [
    ("a.SVG", None, "svg"), ("a.png", None, "png"), ("a.txt", "animated-svg", "animated-svg"),
])
def test_output_format_from_the_extension_or_the_request(path, requested, expected):
    from handwriting.fileio import output_format

    assert output_format(path, ("svg", "png", "animated-svg"), requested) == expected


@pytest.mark.parametrize("path, requested, message", [
    ("a.pdf", None, "cannot tell the format of a.pdf from its extension: use .svg, .png"),
    ("a", None, "cannot tell the format"), ("a.svg", "gif", "unknown output format 'gif'"),
])
def test_output_format_names_what_it_cannot_write(path, requested, message):
    from handwriting.fileio import output_format

    with pytest.raises(HandwritingError, match=message):
        output_format(path, ("svg", "png", "animated-svg"), requested)
