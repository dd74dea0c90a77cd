"""Where the files the package ships live: in a checkout, or inside an installed wheel.

A checkout keeps them at the top of the repository (``checkpoints/default``, ``data/prompts``,
``data/fonts``); a wheel carries copies inside the package (``handwriting/_default_model``, ...;
see ``pyproject.toml``). The checkout wins, so an editable install sees edits at once.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def shipped(checkout_path: str, packaged_name: str) -> Path:
    """``CHECKOUT_DIR / checkout_path`` if it exists, else ``PACKAGE_DIR / packaged_name``."""
    in_checkout = CHECKOUT_DIR / checkout_path
    return in_checkout if in_checkout.exists() else PACKAGE_DIR / packaged_name


#: The models that ship, by the name ``load(NAME)`` and ``--checkpoint NAME`` take: where each
#: lives in a checkout, and its package inside a wheel. ``fonts`` is the model trained on the
#: font-derived corpus only.
SHIPPED_CHECKPOINTS = {"default": ("checkpoints/default", "_default_model"),
                       "fonts": ("checkpoints/fonts", "_fonts_model")}


def shipped_checkpoint_dir(name: str) -> Path:
    """The directory of a shipped model (a key of :data:`SHIPPED_CHECKPOINTS`)."""
    return shipped(*SHIPPED_CHECKPOINTS[name])


def default_checkpoint_dir() -> Path:
    """The shipped default model."""
    return shipped_checkpoint_dir("default")


def prompts_dir() -> Path:
    """The public prompt set (``public.txt``)."""
    return shipped("data/prompts", "_prompts")


#: The sentences a person writes for their own hand, covering the alphabet in few lines (CC0,
#: data/prompts/README.md): the web page's "Learn my hand" and adaptation's rehearsal lines.
OWN_HAND_FILE = "own-hand.txt"


def own_hand_sentences() -> list[str]:
    """The shipped sentences of :data:`OWN_HAND_FILE`, one a line."""
    path = prompts_dir() / OWN_HAND_FILE
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fonts_dir() -> Path:
    """The font sources with their licences (``ems/*.svg``, ``ems/OFL.txt``)."""
    return shipped("data/fonts", "_fonts")
