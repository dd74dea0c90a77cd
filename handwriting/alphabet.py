"""The character set: fixed, ordered and versioned.

Index 0 is padding; characters are numbered from 1 in the order of ``CHARACTERS``. The order
never changes within a version: a checkpoint records ``ALPHABET_VERSION`` and the characters,
and loading a checkpoint with another alphabet is an error, not a silent remapping.

Text is normalised before encoding unless the caller turns it off (``normalise=False``):
typographic quotes, dashes, the ellipsis and unusual spaces become their ASCII forms, and
accented Latin letters become their base letters (``é`` -> ``e``, ``ß`` -> ``ss``). Anything
still outside the alphabet raises :class:`UnknownCharacterError` naming each character and its
position.
"""

from __future__ import annotations

import string
import unicodedata
from typing import Iterable, Sequence

import numpy as np

from .errors import HandwritingError, UnknownCharacterError

ALPHABET_VERSION = 1
PUNCTUATION = "!\"#$%&'()+,-./:;?@"
CHARACTERS = " " + PUNCTUATION + string.digits + string.ascii_uppercase + string.ascii_lowercase
PAD_ID = 0
#: Number of ids, padding included: the one-hot width V of the model's character input.
VOCABULARY_SIZE = len(CHARACTERS) + 1

_ID_OF = {ch: i + 1 for i, ch in enumerate(CHARACTERS)}

#: Typographic characters and letters NFKD cannot decompose, mapped to ASCII.
TYPOGRAPHIC_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ",
    "\u2007": " ", "\u2008": " ", "\t": " ",
    "\u00df": "ss", "\u00c6": "AE", "\u00e6": "ae", "\u0152": "OE", "\u0153": "oe",
    "\u00d8": "O", "\u00f8": "o", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d",
    "\u00d0": "D", "\u00f0": "d", "\u00de": "Th", "\u00fe": "th", "\u0131": "i",
}


def normalise(text: str) -> str:
    """Map typographic characters and accented Latin letters to characters of the alphabet.

    Characters that have no sensible ASCII form are left as they are, so that
    :func:`encode` can name them.
    """
    out = []
    for ch in text:
        if ch in _ID_OF:
            out.append(ch)
        elif ch in TYPOGRAPHIC_REPLACEMENTS:
            out.append(TYPOGRAPHIC_REPLACEMENTS[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(c in _ID_OF for c in base) else ch)
    return "".join(out)


def unknown_characters(text: str) -> list[tuple[int, str]]:
    """Return ``(position, character)`` for every character of ``text`` outside the alphabet."""
    return [(i, ch) for i, ch in enumerate(text) if ch not in _ID_OF]


def describe_unknown(unknown: Sequence[tuple[int, str]]) -> str:
    """One readable phrase naming unknown characters, e.g. ``'€' (U+20AC) at 4``."""
    parts = [f"{ch!r} (U+{ord(ch):04X}) at {pos}" for pos, ch in unknown]
    return ", ".join(parts)


def validate(text: str, *, normalise_text: bool = True) -> str:
    """Return the text the model will write (normalised unless asked not to), or raise.

    Raises:
        UnknownCharacterError: naming each character outside the alphabet and its position
            (positions refer to the text after normalisation).
        HandwritingError: for empty (or all-space) text.
    """
    if normalise_text:
        text = normalise(text)
    if not text.strip():
        raise HandwritingError("empty text: there is nothing to write")
    unknown = unknown_characters(text)
    if unknown:
        hint = "" if normalise_text else "; normalisation (on by default) maps typographic characters and accents"
        raise UnknownCharacterError(f"characters outside the alphabet: {describe_unknown(unknown)}{hint}")
    return text


def encode(text: str, *, normalise_text: bool = True) -> np.ndarray:
    """Encode ``text`` as ids ``[U]`` int32 (1-based; 0 is padding)."""
    text = validate(text, normalise_text=normalise_text)
    return np.fromiter((_ID_OF[ch] for ch in text), dtype=np.int32, count=len(text))


def decode(ids: Iterable[int]) -> str:
    """Decode ids back to text; padding ids are dropped."""
    out = []
    for i in ids:
        i = int(i)
        if i == PAD_ID:
            continue
        if not 0 < i <= len(CHARACTERS):
            raise ValueError(f"id {i} is outside the alphabet (1..{len(CHARACTERS)})")
        out.append(CHARACTERS[i - 1])
    return "".join(out)


def alphabet_config() -> dict:
    """The alphabet as saved in a checkpoint's or dataset's metadata."""
    return {"version": ALPHABET_VERSION, "characters": CHARACTERS}


def check_alphabet_config(config: dict) -> None:
    """Raise if a saved alphabet differs from this package's."""
    if config.get("version") != ALPHABET_VERSION or config.get("characters") != CHARACTERS:
        raise UnknownCharacterError(
            f"saved alphabet version {config.get('version')} does not match this package's "
            f"version {ALPHABET_VERSION}"
        )
