"""English text lines for the font corpus.

Words come from the English word list of the PyPI package ``wordfreq`` (code Apache-2.0; the
word-frequency data is CC BY-SA 4.0, by Robyn Speer and contributors), sampled by frequency
(flattened, so the vocabulary is richer than running text). Lines mix in what handwriting
models must learn besides lowercase words: capitalised sentence starts and proper-looking
names, numbers (years, times, prices, percentages), punctuation at realistic rates, and words
holding rare letters, so that every character of the alphabet is well covered.

Randomness comes only from the ``numpy.random.Generator`` passed in: the same generator state
gives the same lines.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import string
from dataclasses import dataclass

import numpy as np

from .. import alphabet

WORDFREQ_LANGUAGE = "en"
#: Most frequent words taken from wordfreq (before filtering to the alphabet).
VOCABULARY_SIZE = 30000
#: Sampling weight is frequency ** this: below 1 flattens Zipf's law for a richer vocabulary.
FREQUENCY_EXPONENT = 0.85
#: Letters too rare in running text; words holding them are mixed in with extra probability.
RARE_LETTERS = "jkqvxz"
#: Words that are always capitalised.
ALWAYS_CAPITALISED = {"i", "i'm", "i've", "i'll", "i'd"}
#: A basic filter: vulgar words and slurs the corpus should not write.
EXCLUDED_WORDS = frozenset({
    "fuck", "fucking", "fucked", "fucker", "fuckin", "motherfucker", "shit", "shitty", "bullshit",
    "cunt", "dick", "dicks", "cock", "cocks", "pussy", "rape", "raped", "rapist", "nigga",
    "niggas", "nigger", "fag", "faggot", "whore", "slut", "twat", "bitch", "bitches", "porn",
    "retard", "retarded", "tits", "boobs", "dildo", "blowjob", "anal", "penis", "vagina", "cum",
})
#: Shortest and longest all-capital abbreviation.
ACRONYM_LENGTH = (2, 4)
#: Words from which the proper-looking names are drawn have at least this many letters.
MIN_NAME_LENGTH = 3

# Per-token probabilities.
RARE_WORD_PROBABILITY = 0.08
NAME_PROBABILITY = 0.07
ACRONYM_PROBABILITY = 0.012
NUMBER_PROBABILITY = 0.05
SYMBOL_PROBABILITY = 0.025
HYPHENATED_PROBABILITY = 0.015
POSSESSIVE_PROBABILITY = 0.015
SENTENCE_END_PROBABILITY = 0.09
COMMA_PROBABILITY = 0.07
SEMICOLON_PROBABILITY = 0.008
COLON_PROBABILITY = 0.008
DASH_PROBABILITY = 0.008
QUOTE_OPEN_PROBABILITY = 0.012
SINGLE_QUOTE_OPEN_PROBABILITY = 0.005
PAREN_OPEN_PROBABILITY = 0.01
#: Words a quotation or parenthesis spans at most.
MAX_SPAN_WORDS = 4
# Per-line probabilities.
CAPITALISED_START_PROBABILITY = 0.75
FINAL_PUNCTUATION_PROBABILITY = 0.55
#: Sentence ends and their relative weights.
SENTENCE_ENDS = (".", "?", "!", "...")
SENTENCE_END_WEIGHTS = (0.72, 0.13, 0.11, 0.04)
_SENTENCE_END_CUMULATIVE = np.cumsum(SENTENCE_END_WEIGHTS) / np.sum(SENTENCE_END_WEIGHTS)


@dataclass(frozen=True)
class Vocabulary:
    """Words (lowercase, alphabet characters only) with sampling probabilities.

    Attributes:
        common: every usable word with its ``[W]`` cumulative sampling probabilities.
        rare: words holding a letter of :data:`RARE_LETTERS`, likewise.
        by_initial: for each letter a-z, the words of at least :data:`MIN_NAME_LENGTH` letters
            starting with it, likewise (for proper-looking names).
    """

    common: "WordPool"
    rare: "WordPool"
    by_initial: dict[str, "WordPool"]


@dataclass(frozen=True)
class WordPool:
    """Words and their cumulative sampling probabilities ``[W]`` (last entry 1)."""

    words: tuple[str, ...]
    cumulative: np.ndarray

    @classmethod
    def from_weights(cls, words: list[str], weights: np.ndarray) -> "WordPool":
        cumulative = np.cumsum(np.asarray(weights, np.float64))
        return cls(tuple(words), cumulative / cumulative[-1])

    def pick(self, rng: np.random.Generator) -> str:
        """One word drawn by weight (one uniform draw)."""
        i = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
        return self.words[min(i, len(self.words) - 1)]


def wordfreq_version() -> str:
    """The installed wordfreq version."""
    return importlib.metadata.version("wordfreq")


def text_source() -> str:
    """Provenance string for dataset metadata."""
    return f"wordfreq {wordfreq_version()} (CC BY-SA 4.0)"


@functools.lru_cache(maxsize=None)
def load_vocabulary(size: int = VOCABULARY_SIZE) -> Vocabulary:
    """The ``size`` most frequent English words of wordfreq that the alphabet can write."""
    import wordfreq

    frequencies = wordfreq.get_frequency_dict(WORDFREQ_LANGUAGE)
    pattern = re.compile(r"[a-z]+(?:'[a-z]+)?")
    words = [w for w in wordfreq.top_n_list(WORDFREQ_LANGUAGE, size)
             if pattern.fullmatch(w) and not alphabet.unknown_characters(w) and w not in EXCLUDED_WORDS]
    weights = np.array([frequencies[w] for w in words]) ** FREQUENCY_EXPONENT
    rare = [i for i, w in enumerate(words) if any(c in RARE_LETTERS for c in w)]
    by_initial = {}
    for letter in string.ascii_lowercase:
        idx = [i for i, w in enumerate(words) if w[0] == letter and len(w) >= MIN_NAME_LENGTH and "'" not in w]
        by_initial[letter] = WordPool.from_weights([words[i] for i in idx], weights[idx])
    return Vocabulary(
        common=WordPool.from_weights(words, weights),
        rare=WordPool.from_weights([words[i] for i in rare], weights[rare]),
        by_initial=by_initial,
    )


def _digits(rng: np.random.Generator, count: int) -> str:
    """``count`` random digits, the first not zero."""
    first = str(rng.integers(1, 10))
    return first + "".join(str(d) for d in rng.integers(0, 10, count - 1))


def number_token(rng: np.random.Generator) -> str:
    """A number as people write it: count, year, time, price, percentage, decimal, date, range."""
    kind = rng.integers(8)
    if kind == 0:
        return _digits(rng, int(rng.integers(1, 5)))
    if kind == 1:
        return str(rng.integers(1800, 2031))
    if kind == 2:
        return f"{rng.integers(1, 13)}:{rng.integers(0, 60):02d}"
    if kind == 3:
        cents = f".{rng.integers(0, 100):02d}" if rng.random() < 0.4 else ""
        return f"${_digits(rng, int(rng.integers(1, 4)))}{cents}"
    if kind == 4:
        return f"{rng.integers(1, 100)}%"
    if kind == 5:
        return f"{rng.integers(0, 100)}.{rng.integers(0, 10)}"
    if kind == 6:
        return f"{rng.integers(1, 32)}/{rng.integers(1, 13)}"
    return f"{rng.integers(1, 50)}-{rng.integers(50, 500)}"


def symbol_token(rng: np.random.Generator, vocabulary: Vocabulary) -> str:
    """A token built around a rarer symbol: ``&``, ``+``, ``@name``, ``#12``, ``word/word``."""
    kind = rng.integers(5)
    if kind == 0:
        return "&"
    if kind == 1:
        return "+" if rng.random() < 0.5 else f"+{rng.integers(1, 100)}"
    if kind == 2:
        return "@" + vocabulary.common.pick(rng)
    if kind == 3:
        return f"#{rng.integers(1, 100)}"
    return f"{vocabulary.common.pick(rng)}/{vocabulary.common.pick(rng)}"


def _word(rng: np.random.Generator, vocabulary: Vocabulary, capitalise: bool) -> str:
    """One word: common or rare-lettered, a proper-looking name, an acronym, compound or possessive."""
    r = rng.random()
    if r < NAME_PROBABILITY:
        initial = string.ascii_lowercase[rng.integers(26)]
        return vocabulary.by_initial[initial].pick(rng).capitalize()
    r -= NAME_PROBABILITY
    if r < ACRONYM_PROBABILITY:
        length = int(rng.integers(ACRONYM_LENGTH[0], ACRONYM_LENGTH[1] + 1))
        return "".join(string.ascii_uppercase[i] for i in rng.integers(0, 26, length))
    pool = vocabulary.rare if rng.random() < RARE_WORD_PROBABILITY else vocabulary.common
    word = pool.pick(rng)
    if rng.random() < HYPHENATED_PROBABILITY:
        word = f"{word}-{vocabulary.common.pick(rng)}"
    elif rng.random() < POSSESSIVE_PROBABILITY and "'" not in word:
        word += "'" if word.endswith("s") else "'s"
    if word in ALWAYS_CAPITALISED:
        word = word[0].upper() + word[1:]
    return word[0].upper() + word[1:] if capitalise else word


def _sentence_end(rng: np.random.Generator) -> str:
    return SENTENCE_ENDS[int(np.searchsorted(_SENTENCE_END_CUMULATIVE, rng.random(), side="right"))]


def sample_line(rng: np.random.Generator, vocabulary: Vocabulary, min_words: int, max_words: int) -> str:
    """One line of ``min_words``..``max_words`` tokens separated by single spaces."""
    n = int(rng.integers(min_words, max_words + 1))
    tokens: list[str] = []
    capitalise = rng.random() < CAPITALISED_START_PROBABILITY
    closing: tuple[str, int] | None = None  # (closing mark, tokens left before it closes)
    for i in range(n):
        r = rng.random()
        if r < NUMBER_PROBABILITY:
            token = number_token(rng)
        elif r < NUMBER_PROBABILITY + SYMBOL_PROBABILITY:
            token = symbol_token(rng, vocabulary)
        else:
            token = _word(rng, vocabulary, capitalise)
        capitalise = False
        last = i == n - 1
        if closing is None and not last:
            r = rng.random()
            for opening, close, p in (('"', '"', QUOTE_OPEN_PROBABILITY),
                                      ("'", "'", SINGLE_QUOTE_OPEN_PROBABILITY),
                                      ("(", ")", PAREN_OPEN_PROBABILITY)):
                if r < p:
                    token = opening + token
                    closing = (close, int(rng.integers(0, MAX_SPAN_WORDS)))
                    break
                r -= p
        elif closing is not None:
            closing = (closing[0], closing[1] - 1)
        if closing is not None and (closing[1] <= 0 or last):
            token += closing[0]
            closing = None
        r = rng.random()
        if last:
            if r < FINAL_PUNCTUATION_PROBABILITY:
                token += _sentence_end(rng)
        elif r < SENTENCE_END_PROBABILITY:
            token += _sentence_end(rng)
            capitalise = True
        else:
            r -= SENTENCE_END_PROBABILITY
            for mark, p in ((",", COMMA_PROBABILITY), (";", SEMICOLON_PROBABILITY), (":", COLON_PROBABILITY)):
                if r < p:
                    token += mark
                    break
                r -= p
            else:
                if r < DASH_PROBABILITY:
                    token += " -"
        tokens.append(token)
    return " ".join(tokens)


def sample_lines(count: int, rng: np.random.Generator, *, min_words: int = 1, max_words: int = 12,
                 vocabulary_size: int = VOCABULARY_SIZE) -> list[str]:
    """``count`` text lines drawn with ``rng`` (alphabet characters only)."""
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words} and {max_words}")
    vocabulary = load_vocabulary(vocabulary_size)
    return [sample_line(rng, vocabulary, min_words, max_words) for _ in range(count)]
