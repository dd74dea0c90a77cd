#!/usr/bin/env bash
# Lay out UNIPEN train_r01_v07 (data/, include/) from a bare git mirror of it, such as the search
# tool's `fetch github:GreenCappuccino/train_r01_v07`, which has no work tree. Blobs the mirror
# lacks are named and skipped (that mirror lacks three, all readers skip their segments).
#
#     scripts/extract_unipen.sh /work/.mirror/GreenCappuccino+train_r01_v07/repo /work/unipen   # ~2.5 min
set -euo pipefail
mirror=${1:?usage: $0 MIRROR_GIT_DIR DEST}
dest=${2:?usage: $0 MIRROR_GIT_DIR DEST}
mkdir -p "$dest"
git --git-dir="$mirror" ls-tree -r HEAD | while read -r _ type sha path; do
    [[ $type == blob ]] || continue
    mkdir -p "$dest/$(dirname "$path")"
    if ! git --git-dir="$mirror" cat-file blob "$sha" > "$dest/$path" 2>/dev/null; then
        echo "missing in the mirror: $path" >&2
        rm -f "$dest/$path"
    fi
done
echo "UNIPEN laid out in $dest"
