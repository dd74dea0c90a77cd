#!/usr/bin/env bash
# Rebuild the shipped model's training mix (data/human-mix-h6.npz) and its parts from a UNIPEN
# train_r01_v07 tree, as docs/training.md's stages H1-H6 made them. Prepared data are never
# committed; a machine that lost data/ gets it back with this script (about 25 CPU minutes).
#
#     scripts/rebuild_human_mix.sh /work/unipen        # UNIPEN extracted there (data/, include/)
#     DATA_DIR=/work/data scripts/rebuild_human_mix.sh /work/unipen   # the files elsewhere than data/
#
# Steps already done (their output file exists) are skipped, so an interrupted rebuild resumes.
set -euo pipefail
unipen=${1:?usage: $0 UNIPEN_ROOT}
cd "$(dirname "$0")/.."
data=${DATA_DIR:-data}  # where the dataset files go
mkdir -p "$data"
step() { local out=$1; shift; if [[ -f $out ]]; then echo "have $out"; else echo "making $out"; "$@"; fi; }

# The human lines (UNIPEN category 8), read and cleaned: stage H1.
step $data/unipen-raw.npz handwriting prepare unipen "$unipen" -o $data/unipen-raw.npz
step $data/unipen.npz handwriting prepare clean $data/unipen-raw.npz -o $data/unipen.npz
# The font lines of the mix, and stage H3's mix (every font line with a digit).
step $data/fonts-mix.npz handwriting prepare fonts --lines 10000 --seed 4 --points-per-x-height 2.5 \
    --max-words 8 -o $data/fonts-mix.npz
step $data/human-mix-digits.npz handwriting prepare mix unipen=$data/unipen.npz \
    fonts=$data/fonts-mix.npz:4000+0123456789 --seed 1 -o $data/human-mix-digits.npz
# First-person font lines by the font writers that stage H3's split trains on: stage H4.
step $data/first-person.txt python scripts/first_person_texts.py --lines 1500 -o $data/first-person.txt
step $data/fonts-first-person.npz handwriting prepare fonts --texts $data/first-person.txt --lines 1500 \
    --seed 4 --points-per-x-height 2.5 --lines-per-writer 20 -o $data/fonts-first-person.npz
step $data/fonts-first-person-train.npz handwriting prepare keep-writers $data/fonts-first-person.npz \
    --split-of $data/human-mix-digits.npz --validation-fraction 0.1 --part fonts \
    -o $data/fonts-first-person-train.npz
step $data/human-mix-h4.npz handwriting prepare mix unipen=$data/unipen.npz \
    fonts=$data/fonts-mix.npz:4000+0123456789 fonts=$data/fonts-first-person-train.npz --seed 1 \
    -o $data/human-mix-h4.npz
# UNIPEN's words (categories 6 and 7) by the writers that stage H4's split trains on: stage H6.
step $data/unipen-words-raw.npz handwriting prepare unipen "$unipen" --categories 6 7 -o $data/unipen-words-raw.npz
step $data/unipen-words.npz handwriting prepare clean $data/unipen-words-raw.npz -o $data/unipen-words.npz
step $data/unipen-words-train.npz handwriting prepare keep-writers $data/unipen-words.npz \
    --split-of $data/human-mix-h4.npz --validation-fraction 0.093 --part unipen \
    -o $data/unipen-words-train.npz
step $data/human-mix-h6.npz handwriting prepare mix unipen=$data/unipen.npz \
    fonts=$data/fonts-mix.npz:4000+0123456789 fonts=$data/fonts-first-person-train.npz \
    unipen=$data/unipen-words-train.npz:20000 --seed 1 -o $data/human-mix-h6.npz
