"""Collect run folders into one table: `python -m sim.collect <folder>... [--table summary] [--out file.parquet|.csv]`.

Each folder a run writes (a single run, or every point of a Hydra multirun under the sweep folder)
holds its tables and its resolved config.yaml; only folders whose run.json marks them whole are
read. The result is one table (Parquet, or CSV when --out ends in .csv): the chosen table of every
run, with the run's identity and one column per parameter that differs between the runs (the values
the model ran with; named config.<name> where the table has a column of that name, as draws has seed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

from .params import PARAMS
from .paths import cannot_make
from .words import counted

# a table's column that holds the run's own parameter, kept as the table has it: summary's count of replications,
# and the scenario as the run labels it (marked when its promise work was switched off, as in the folder's name)
IDENTITY = ("scenario", "replications")
TABLES = ("summary", "trajectories", "neighbourhoods", "surveys", "cycles", "feedback_rounds", "draws")


def is_study(folder: Path) -> bool:
    """A study's output folder (report.md and its tables beside its config.yaml), not a run's."""
    return (folder / "report.md").is_file() and not (folder / "run.json").exists()


def is_whole(info: Path) -> bool:
    """Whether a run.json marks its run whole; a damaged one (cut short, edited) does not."""
    try:
        return bool(json.loads(info.read_text()).get("complete", False))
    except (OSError, ValueError, AttributeError):
        return False


def run_folders(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Whole run folders under the given paths (searched recursively), and incomplete ones found on the way;
    a study's folders are neither."""
    whole, incomplete = [], []
    for root in paths:
        candidates = [root] if (root / "config.yaml").exists() else sorted(p.parent for p in root.rglob("config.yaml"))
        for folder in candidates:
            if folder.name.startswith(".") or is_study(folder):
                continue
            (whole if is_whole(folder / "run.json") else incomplete).append(folder)
    return whole, incomplete


def flat_params(config_file: Path) -> dict:
    """The run's parameter values by dotted name, from its config.yaml (ValueError naming it when damaged)."""
    try:
        doc = yaml.safe_load("\n".join(ln for ln in config_file.read_text().splitlines() if not ln.startswith("#")))
    except yaml.YAMLError as exc:
        raise ValueError(f"{config_file} cannot be read ({' '.join(str(exc).split())[:120]})") from None
    out = {}
    for name in PARAMS:
        node = doc
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out[name] = node
    return out


def collect(paths: list[Path], table: str = "summary") -> tuple[pd.DataFrame, list[Path], list[Path]]:
    """One table from many run folders, with a column for every parameter that differs between them; with the
    whole folders it read and the incomplete ones it skipped (one search of the tree gives all three)."""
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    folders, incomplete = run_folders(paths)
    studies = [f for root in paths for f in [root, *(p.parent for p in root.rglob("report.md"))] if is_study(f)]
    if not folders and studies:
        raise ValueError(
            f"{studies[0]} is a study's folder (report.md and its tables), not a run's: collect reads the folders "
            "python -m sim writes (results/runs/..., a multirun's folder); a study's tables are its CSV files"
        )
    if not folders:
        raise ValueError("no whole run folders found (a folder is whole when its run.json says so)")
    params = pd.DataFrame([flat_params(f / "config.yaml") for f in folders])
    varying = [c for c in params.columns if params[c].astype(str).nunique() > 1]
    parts = []
    for i, folder in enumerate(folders):
        if not (folder / f"{table}.csv").is_file():
            raise ValueError(f"{folder} is marked whole but has no {table}.csv: rerun it, or move it aside")
        try:
            t = pd.read_csv(folder / f"{table}.csv")
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:  # cut short or edited by hand
            raise ValueError(
                f"{folder / (table + '.csv')} cannot be read ({' '.join(str(exc).split())[:120]})"
            ) from None
        for c in varying:  # a table's own column of that name (draws' replication seed) is kept, not overwritten
            if c in IDENTITY and c in t.columns:
                continue
            t[c if c not in t.columns else f"config.{c}"] = params.loc[i, c]
        t.insert(0, "folder", str(folder))
        parts.append(t)
    return pd.concat(parts, ignore_index=True), folders, incomplete


WRITERS = {  # what --out may name, by its ending
    ".parquet": lambda df, path: df.to_parquet(path, index=False),
    ".csv": lambda df, path: df.to_csv(path, index=False),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.collect", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders or folders that hold them")
    parser.add_argument("--table", default="summary", choices=TABLES)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file to write, .parquet or .csv (default: <first>/collected_<table>.parquet)",
    )
    args = parser.parse_intermixed_args(argv)  # folders on both sides of an option
    if args.out is not None and (args.out.suffix not in WRITERS or args.out.is_dir()):
        print(f"error: --out {args.out}: give a file name ending in .parquet or .csv", file=sys.stderr)
        return 2
    if args.out is not None and (why := cannot_make(args.out.parent)):  # once a traceback, after reading every run
        print(f"error: --out {args.out}: no file can be written there ({why})", file=sys.stderr)
        return 2
    for f in args.folders:
        if not f.is_dir():
            why = "is a file: give run folders or folders that hold them" if f.exists() else "does not exist"
            print(f"error: {f} {why}", file=sys.stderr)
            return 2
    try:
        df, folders, incomplete = collect(args.folders, args.table)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.folders[0] / f"collected_{args.table}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[out.suffix](df, out)
    extra = f"; skipped {counted(len(incomplete), 'incomplete folder')}" if incomplete else ""
    empty = f" (every run's {args.table} table is empty)" if df.empty else ""  # once "Collected 0 runs"
    print(f"Collected {counted(len(folders), 'run')}, {counted(len(df), 'row')}{empty}, into {out}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
