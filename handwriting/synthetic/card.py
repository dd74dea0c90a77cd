"""The dataset card (``README.md``): how the dataset was made, its columns, how to load it, and the
attribution and licence that the model's training data carries (the checkpoint's ``provenance``).

The YAML header is the Hugging Face Hub's: the folder can be pushed as it is.
"""

from __future__ import annotations

from .config import DatasetConfig

#: The Hub's licence identifiers of the licences the project's data sources carry.
HUB_LICENSES = {"CC BY 4.0": "cc-by-4.0"}

COLUMNS = (
    ("id", "the line's number, 0 to lines - 1; its content depends only on (the dataset's seed, id)"),
    ("text", "the transcription: exactly what was written (normalised to the model's alphabet)"),
    ("image", "grayscale PNG (`{'bytes', 'path'}`; `datasets` decodes it to a PIL image)"),
    ("width, height", "the image's size in px (the height is fixed)"),
    ("strokes", "the pen trajectory, `[[x, y, pen_up], ...]` in the image's px (y down); pen_up = 1 on a "
                "stroke's last point"),
    ("style", "the style (a writer's sample the network was primed with; `none`: unprimed)"),
    ("bias", "legibility bias (Graves 2013, eqs 61-62): higher is neater"),
    ("slant", "degrees the line was sheared to lean, positive to the right"),
    ("seed", "the seed `Hand.write` wrote the line with"),
    ("ink, ink_width", "the pen's colour (written as its grey level) and width in px"),
    ("paper, paper_level", "the background (plain, grain, ruled) and its grey level"),
    ("blur, noise", "Gaussian blur radius (px) and pixel noise (standard deviation, grey levels)"),
    ("render_seed", "seeds the paper's grain and the noise"),
    ("hit_cap", "whether the sampler's step cap ended the line (it should not)"),
)


def _sources(provenance: dict | None) -> list[dict]:
    seen, out = set(), []
    for source in (provenance or {}).get("sources", []):
        key = source.get("name")
        if key not in seen:
            seen.add(key)
            out.append(source)
    return out


def card_text(manifest: dict, command: str) -> str:
    """The card's Markdown for a finished dataset's manifest and the command that made it."""
    config = DatasetConfig.from_dict(manifest["config"])
    model = manifest["model"]
    sources = _sources(model.get("provenance"))
    licenses = sorted({HUB_LICENSES[s["license"]] for s in sources if s.get("license") in HUB_LICENSES})
    header = ["---", f"license: {licenses[0] if len(licenses) == 1 else 'other'}", "task_categories:",
              "- image-to-text", "language:", "- en", "tags:", "- handwriting", "- synthetic", "- htr",
              "pretty_name: Synthetic handwriting lines", "configs:", "- config_name: default", "  data_files:",
              "  - split: train", "    path: data/train-*", "---", ""]
    styles = ", ".join(f"`{name}`" for name in manifest["styles"])
    body = [
        "# Synthetic handwriting lines", "",
        f"{config.lines:,} lines of handwriting, each a grayscale image {config.height} px high with its pen "
        "strokes and exact transcription, written by the `handwriting` package (Graves 2013, *Generating "
        "Sequences With Recurrent Neural Networks*, section 5: an attention LSTM with mixture outputs; NumPy "
        f"engine; package {manifest['package_version']}).", "",
        "## How it was made", "",
        f"```\n{command}\n```", "",
        f"- Model: `{model['checkpoint']}` (files' digest `{model['fingerprint'][:16]}`).",
        f"- Texts: {manifest['corpus']['lines']:,} lines of `{manifest['corpus']['file']}` taken "
        f"{'in order' if config.order == 'sequential' else 'at random'}"
        f" ({manifest['corpus']['skipped']} lines skipped).",
        f"- Styles, drawn evenly: {styles}.",
        f"- Bias uniform in [{config.bias_min}, {config.bias_max}]; slant: the style's writer's, plus a normal "
        f"jitter of {config.slant_jitter} degrees; ink width uniform in [{config.ink_width_min}, "
        f"{config.ink_width_max}] px; inks {', '.join(config.inks)}; papers {', '.join(config.papers)} at grey "
        f"levels {config.paper_min}-{config.paper_max}; blur radius up to {config.blur_max} px; noise up to "
        f"{config.noise_max} grey levels.",
        f"- Seed {config.seed}: line `id` draws all of the above from its own random stream seeded by (seed, id), "
        "so re-running the command rewrites any line exactly.",
        f"- {config.shards} Parquet shards of up to {config.shard_lines} lines; `manifest.json` records every "
        "setting and digest.", "",
        "## Columns", "", "| column | meaning |", "|---|---|",
        *[f"| `{name}` | {meaning} |" for name, meaning in COLUMNS], "",
        "## Loading", "",
        "```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_dir=\"DIR\")[\"train\"]"
        "\nds[0][\"image\"], ds[0][\"text\"]\n\nimport pandas as pd\ndf = pd.read_parquet(\"DIR/data\")\n```", "",
        "## Attribution and licence", "",
        *_attribution(sources),
    ]
    return "\n".join(header + body) + "\n"


def _attribution(sources: list[dict]) -> list[str]:
    if not sources:
        return ["The model's checkpoint records no training data sources."]
    lines = ["The lines are the output of a model trained on the data below; the dataset carries the "
             "attribution and licence of that data:", ""]
    for source in sources:
        if source.get("attribution"):
            lines.append(f"- {source['attribution']}." + (f" {source['terms']}" if source.get("terms") else ""))
        else:
            lines.append(f"- {source.get('name', 'unnamed source')}: lines the project draws from single-stroke "
                         "fonts (the Hershey fonts; the EMS fonts, SIL Open Font License 1.1), see the "
                         "`handwriting` package's data/README.md.")
    return lines
