#!/usr/bin/env python
"""Write text lines that use the pronoun "I" as people do in notes and letters, one per line.

The font corpus' generated lines hold the word "I" in 1.5% of lines and the public prompts not at
all, and the human model wrote "I hope" as "Il hope": a second bar after the "I", the next
letter drawn as bars ("I said" read "llcaid"). These lines give the font writers more of it:
``prepare fonts --texts`` writes them with the font corpus' writers (docs/training.md, stage H4).

    python scripts/first_person_texts.py --lines 1500 -o runs/first-person.txt

Each line puts "I" (or I'm, I'll, I've, I'd) at its start or after a joining word, followed by a
common verb and a generated tail (``handwriting.datasets.texts``, wordfreq words).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

PRONOUNS = ("I", "I", "I", "I", "I'm", "I'll", "I've", "I'd")
VERBS = ("think", "will", "am", "have", "said", "was", "know", "can", "went", "hope", "see", "love", "need",
         "miss", "wish", "feel", "did", "do", "got", "saw", "should", "would", "could", "still", "just",
         "never", "also", "really", "want", "like", "read", "made", "found", "told", "asked", "heard")
#: Words a mid-line "I" follows ("and I said").
JOINS = ("and", "but", "so", "if", "when", "because", "that", "as", "then", "where", "what", "until")
#: Share of lines whose "I" comes after a few words and a joining word, not at the start.
MID_LINE = 0.5


def first_person_line(rng: np.random.Generator, vocabulary, verbs: tuple[str, ...] = VERBS) -> str:
    """One line: ``[head JOIN] I VERB tail``, at most about 8 words."""
    from handwriting.datasets.texts import sample_line

    pronoun = str(rng.choice(PRONOUNS))
    verb = "" if "'" in pronoun and rng.random() < 0.5 else " " + str(rng.choice(verbs))
    tail = sample_line(rng, vocabulary, 1, 4)
    tail = tail[0].lower() + tail[1:] if tail[:1].isupper() and tail[1:2].islower() else tail
    line = f"{pronoun}{verb} {tail}"
    if rng.random() < MID_LINE:
        head = sample_line(rng, vocabulary, 1, 3).rstrip(".!?,;:")
        head = head[0].upper() + head[1:]
        line = f"{head} {rng.choice(JOINS)} {line}"
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("-o", "--output", type=Path, required=True, help="text file to write")
    parser.add_argument("--lines", type=int, default=1500, help="lines to write (default: 1500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--verbs", nargs="+", default=VERBS, help="words that follow the pronoun (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.lines < 1:
        print("error: --lines must be at least 1", file=sys.stderr)
        return 2

    from handwriting import alphabet
    from handwriting.datasets.texts import load_vocabulary
    from handwriting.fileio import write_text_atomic

    rng = np.random.default_rng(args.seed)
    vocabulary = load_vocabulary()
    lines = []
    while len(lines) < args.lines:
        line = first_person_line(rng, vocabulary, tuple(args.verbs))
        if not alphabet.unknown_characters(line):
            lines.append(line)
    write_text_atomic(args.output, "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
