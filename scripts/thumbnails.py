"""The README's study thumbnails, drawn from the README's own commands: python -m scripts.thumbnails [options]

    python -m scripts.thumbnails                      # every study in the README's table, at full size, into docs/
    python -m scripts.thumbnails --only compare       # one study
    python -m scripts.thumbnails --out /tmp/t replications=2 horizon_weeks=20   # extra overrides for every study

Each row of the README's study table that shows a thumbnail (``![](docs/thumb_<study>.png)``) names the command
that makes the study; this script runs exactly that command (with ``output_root`` in a temporary folder), takes
the study's main figure and shrinks it to fit 360 x 240 pixels. So the pictures beside the commands are what the
commands draw today, with the titles that say what their bands cover. About 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BOX = (360, 240)  # the largest a thumbnail may be, in pixels (width, height)
FIGURE = {  # study -> its main figure, the one the README shows
    "compare": "trajectories.png",
    "bra2018": "bra2018.png",
    "ambition": "heatmap_trust_high_share.png",
    "feedback_demo": "feedback_matters.png",
    "evaluation_power": "power_curves.png",
}
ROW = re.compile(r"^\| `(?P<study>\w+)` \| `(?P<command>[^`]+)` \|.*!\[\]\((?P<thumb>docs/thumb_\w+\.png)\) \|$", re.M)


def thumbnail_rows(readme: str) -> list[tuple[str, list[str], str]]:
    """(study, command as arguments, thumbnail path) for each row of the README's table that shows a thumbnail."""
    rows = []
    for m in ROW.finditer(readme):
        args = shlex.split(m["command"])
        if args[:3] != [".venv/bin/python", "-m", f"experiments.{m['study']}"]:
            raise ValueError(f"README row {m['study']}: the command {m['command']!r} does not run that study")
        rows.append((m["study"], args[3:], m["thumb"]))
    return rows


def draw(study: str, args: list[str], thumb: Path, overrides: list[str], work: Path) -> Path:
    """Run the study's command into ``work`` and save its main figure, shrunk to fit BOX, as ``thumb``."""
    if study not in FIGURE:
        raise ValueError(f"no main figure is named for study {study!r}: add it to FIGURE in {__file__}")
    cmd = [sys.executable, "-m", f"experiments.{study}", *args, *overrides, f"output_root={work}"]
    print("$", shlex.join(cmd[1:]), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    (figure,) = (work / study).glob(f"*/{FIGURE[study]}")  # one run, one report folder
    image = Image.open(figure).convert("RGB")
    image.thumbnail(BOX, Image.Resampling.LANCZOS)
    thumb.parent.mkdir(parents=True, exist_ok=True)
    image.save(thumb, optimize=True)
    print(f"Wrote {thumb} ({image.width} x {image.height}) from {figure.name}", flush=True)
    return thumb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for thumb_<study>.png (default: docs/)")
    parser.add_argument("--only", default="", help="comma-separated studies (default: every row with a thumbnail)")
    parser.add_argument("overrides", nargs="*", help="extra overrides for every study (e.g. replications=2)")
    a = parser.parse_args(argv)
    rows = thumbnail_rows((ROOT / "README.md").read_text())
    only = [s for s in a.only.split(",") if s]
    unknown = sorted(set(only) - {study for study, _, _ in rows})
    if unknown:
        parser.error(f"--only {unknown[0]}: not a study with a thumbnail in the README")
    with tempfile.TemporaryDirectory() as tmp:
        for study, args, thumb in rows:
            if not only or study in only:
                try:
                    draw(study, args, Path(a.out) / Path(thumb).name, a.overrides, Path(tmp))
                except subprocess.CalledProcessError as e:  # the study has said why on stderr
                    print(
                        f"error: {study} stopped with exit status {e.returncode}; no thumbnail drawn", file=sys.stderr
                    )
                    return e.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
