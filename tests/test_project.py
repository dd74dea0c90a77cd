"""The newcomer test: the README's set-up commands are exactly what CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", setup, re.S)]


def test_ci_runs_exactly_the_readme_commands():
    commands = readme_setup_commands()
    assert len(commands) == 2
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in commands:
        assert command in ci


def test_font_licences_sit_beside_the_fonts():
    fonts = ROOT / "data" / "fonts"
    assert (fonts / "ems" / "OFL.txt").read_text().startswith("SIL OPEN FONT LICENSE")
    assert "Hershey" in (fonts / "README.md").read_text()
    for svg in (fonts / "ems").glob("*.svg"):
        assert "SIL Open Font License" in svg.read_text()[:2000]


@pytest.mark.slow
def test_a_wheel_carries_the_model_prompts_and_fonts(tmp_path):
    """`pip install handwriting` (not editable) must write out of the box too."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("handwriting-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for checkout, packaged in (("default", "_default_model"), ("fonts", "_fonts_model")):
        shipped = {p.relative_to(ROOT / "checkpoints" / checkout).as_posix()
                   for p in (ROOT / "checkpoints" / checkout).rglob("*") if p.is_file()}
        assert shipped and {f"handwriting/{packaged}/{n}" for n in shipped} <= names
    assert "handwriting/_prompts/public.txt" in names
    assert "handwriting/_fonts/ems/OFL.txt" in names and "handwriting/_fonts/README.md" in names
    assert len([n for n in names if n.startswith("handwriting/_fonts/ems/") and n.endswith(".svg")]) == 6
