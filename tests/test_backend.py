"""Where the XLA compilation cache goes, and how TF_XLA_FLAGS is left."""

import os

from handwriting import backend


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(backend.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert backend.compilation_cache_dir() == os.path.join(tmp_path, "handwriting", "xla")
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert backend.compilation_cache_dir() == str(tmp_path / "elsewhere")
    for off in ("off", "OFF", "", "0"):
        monkeypatch.setenv(backend.CACHE_ENV, off)
        assert backend.compilation_cache_dir() is None


def test_enable_adds_the_flag_once_and_keeps_user_flags(monkeypatch, tmp_path):
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    backend.enable_compilation_cache()
    backend.enable_compilation_cache()
    flags = os.environ["TF_XLA_FLAGS"]
    assert flags == f"--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory={tmp_path / 'cache'}"
    assert (tmp_path / "cache").is_dir()


def test_enable_does_nothing_when_off_or_unwritable(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    monkeypatch.setenv(backend.CACHE_ENV, "off")
    backend.enable_compilation_cache()
    assert "TF_XLA_FLAGS" not in os.environ
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(backend.CACHE_ENV, str(blocker / "cache"))
    backend.enable_compilation_cache()
    assert "TF_XLA_FLAGS" not in os.environ


def test_the_jax_cache_is_left_alone_on_tensorflow(monkeypatch, tmp_path):
    # The suite runs on TensorFlow; the JAX side is checked by test_weights_from_jax_load_on_tensorflow.
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path / "cache"))
    assert backend.enable_jax_compilation_cache() is None
    assert not (tmp_path / "cache").exists()
