"""The sweep store: a study's results as Parquet shards plus a manifest, written whole or not at all.

Shards go to ``<store>/runs/`` as runs finish (written to a hidden file, then renamed, so a killed sweep
never leaves half a shard). ``manifest.json`` names the study the store belongs to (its key) and records
every session; a store refuses, with one line, to be resumed by a different study, and a lock keeps two
sweeps from writing to it at once. Reading keeps one row per run: its success if it has one, else its
latest failure. Job-array tasks write stores of their own under the study's (``shard_store``), which
``compact`` merges, their sessions with them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


class StoreError(RuntimeError):
    """A store that cannot be used as asked; the message says why and what to do, in one line."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a hidden file, then renamed into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a table to ``path`` whole or not at all, as ``atomic_write``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def one_row_per_run(df: pd.DataFrame) -> pd.DataFrame:
    """For each run id, its successful row if it has one, else its latest failure."""
    ok = (df.status == "ok").to_numpy()
    df = df.assign(_ok=ok).sort_values("_ok", kind="stable").drop_duplicates("run_id", keep="last")
    return df.drop(columns="_ok").reset_index(drop=True)


class SweepStore:
    """A folder of Parquet shards plus a manifest; the single source of a study's results."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.trajectories = self.root / "trajectories"
        self.manifest_path = self.root / "manifest.json"
        self._lock_file = None

    # manifest and lock
    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        try:
            return json.loads(self.manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"{self.manifest_path} is damaged ({exc.__class__.__name__}); move it away to rebuild the store's "
                "history (the stored runs are kept and reused)"
            ) from exc

    def claim(self, study_key: str, study: dict[str, Any]) -> None:
        """Tie the store to one study: refuse a store made by another, write the study once."""
        old = self.manifest()
        if old and old.get("study_key") not in (None, study_key):
            raise StoreError(
                f"{self.root} holds another study ({old.get('study', {}).get('name', '?')}, key "
                f"{old['study_key'][:8]}, this one {study_key[:8]}): choose another output folder or remove it"
            )
        if not old:
            self.root.mkdir(parents=True, exist_ok=True)
            info = {
                "study_key": study_key,
                "study": study,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "sessions": [],
            }
            atomic_write(self.manifest_path, json.dumps(info, indent=2, default=str).encode())

    def add_session(self, session: dict[str, Any]) -> None:
        """Append one session to the manifest's history (earlier sessions are never rewritten)."""
        info = self.manifest()
        info.setdefault("sessions", []).append(session)
        atomic_write(self.manifest_path, json.dumps(info, indent=2, default=str).encode())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock; a second sweep on the same store stops with one line instead of racing."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "store.lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                f.seek(0)
                raise StoreError(
                    f"another sweep is writing to {self.root} ({f.read().strip() or 'unknown process'}); "
                    "wait for it or use another output folder"
                ) from exc
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def clean_leftovers(self) -> int:
        """Remove half-written shards a killed sweep left (they were never renamed into place)."""
        n = 0
        for folder in (self.runs, self.trajectories):
            for tmp in folder.glob(".*.tmp") if folder.exists() else []:
                tmp.unlink(missing_ok=True)
                n += 1
        return n

    def write_shard(self, rows: list[dict[str, Any]]) -> None:
        """Write completed rows as one shard (whole, then renamed into place)."""
        if not rows:
            return
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        self.runs.mkdir(parents=True, exist_ok=True)
        atomic_parquet(pd.DataFrame(rows), self.runs / name)

    # reading
    def files(self) -> list[Path]:
        return sorted(self.runs.glob("part-*.parquet")) if self.runs.exists() else []

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All stored rows (only ``columns`` when given); for each run id the successful row if any, else its
        latest failure. Read through a pyarrow dataset: only the columns asked for leave the disk."""
        import pyarrow.dataset as ds

        files = self.files()
        if not files:
            return pd.DataFrame()
        cols = None if columns is None else list(dict.fromkeys(["run_id", "status", *columns]))
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # shards of failures only lack the outcome columns: one schema for all, missing columns as nulls
            schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
            dataset = ds.dataset([str(f) for f in files], schema=schema, format="parquet")
            df = dataset.to_table(columns=cols).to_pandas()
        except Exception as exc:  # find the damaged file, name it, say what to do
            bad = self._damaged(files)
            raise StoreError(
                f"shard {bad or '?'} cannot be read ({type(exc).__name__}); move it out of {self.runs} and run "
                "again: its runs will be computed anew"
            ) from exc
        return one_row_per_run(df)

    def _damaged(self, files: list[Path]) -> Path | None:
        import pyarrow.parquet as pq

        for f in files:
            try:
                pq.read_metadata(f)
            except Exception:
                return f
        return None

    def done(self) -> set[str]:
        df = self.read(columns=[])
        return set(df.run_id[df.status == "ok"]) if len(df) else set()

    def results(self, run_ids: set[str] | None = None) -> pd.DataFrame:
        """Successful rows (of ``run_ids`` only, when given)."""
        return self._with_status("ok", run_ids).drop(columns=["error"], errors="ignore")

    def failures(self, run_ids: set[str] | None = None) -> pd.DataFrame:
        """Rows of runs that failed and never succeeded (of ``run_ids`` only, when given), with their errors."""
        return self._with_status("failed", run_ids)

    def _with_status(self, status: str, run_ids: set[str] | None) -> pd.DataFrame:
        df = self.read()
        if not len(df):
            return df
        keep = df.status == status
        if run_ids is not None:
            keep &= df.run_id.isin(run_ids)
        return df[keep].reset_index(drop=True)


# ---- job-array shards and compaction -----------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N; ValueError otherwise."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/N (e.g. 3/16), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard {text}: i must be from 0 to N-1")
    return i, n


def shard_store(store: SweepStore, shard: str) -> SweepStore:
    """Where a job-array task writes: a store of its own under the study's (no lock shared with the others)."""
    i, n = parse_shard(shard)
    return SweepStore(store.root / "shards" / f"{i:05d}-of-{n:05d}")


def compact(store: SweepStore, planned: set[str] | None = None, rows_per_file: int = 100_000) -> dict[str, Any]:
    """Merge the job-array shards and the store's small files into a few large ones.

    Each run keeps one row (its success if it has one). The new files are written before the old ones are
    removed, so a stop part-way leaves duplicates that reading resolves, never a lost run. The shards'
    sessions join the store's history (``merge_histories``). Returns what it did and, given the planned run
    ids, how many are missing.
    """
    import shutil

    with store.locked():
        shard_roots = sorted((store.root / "shards").glob("*")) if (store.root / "shards").exists() else []
        sources = [store, *(SweepStore(r) for r in shard_roots)]
        histories = merge_histories(store, sources[1:])  # checked before any file moves
        old_files = [f for s in sources for f in s.files()]
        frames = [s.read() for s in sources if s.files()]
        if not frames:
            return {"runs": 0, "files_before": 0, "files_after": 0, "missing": len(planned or ())}
        df = one_row_per_run(pd.concat(frames, ignore_index=True))
        store.runs.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        new = []
        for k in range(0, len(df), rows_per_file):
            path = store.runs / f"part-compact-{tag}-{k // rows_per_file:05d}.parquet"
            atomic_parquet(df.iloc[k : k + rows_per_file], path)
            new.append(path)
        if histories != store.manifest():
            atomic_write(store.manifest_path, json.dumps(histories, indent=2, default=str).encode())
        for f in old_files:
            f.unlink(missing_ok=True)
        for src in sources[1:]:
            if (src.trajectories).exists():
                store.trajectories.mkdir(parents=True, exist_ok=True)
                for t in src.trajectories.glob("*.parquet"):
                    t.replace(store.trajectories / t.name)
            shutil.rmtree(src.root, ignore_errors=True)
        if shard_roots:
            shutil.rmtree(store.root / "shards", ignore_errors=True)
    ok_ids = set(df.run_id[df.status == "ok"])
    return {
        "runs": len(df),
        "files_before": len(old_files),
        "files_after": len(new),
        "shards_merged": len(shard_roots),
        "missing": len(planned - ok_ids) if planned is not None else None,
    }


def merge_histories(store: SweepStore, shards: Sequence[SweepStore]) -> dict[str, Any]:
    """The store's manifest with each job-array task's sessions appended, tagged with the task's folder.

    A task's manifest goes when its folder is merged, so its sessions (when, where, with what code) would be
    lost without this; a session already merged by an earlier, interrupted merge is not added twice. A shard
    of another study is refused with one line, before anything is moved.
    """
    merged = store.manifest()
    for shard in shards:
        info = shard.manifest()
        if not info:
            continue
        if merged.get("study_key") not in (None, info.get("study_key")):
            raise StoreError(
                f"{shard.root} holds another study (key {str(info.get('study_key'))[:8]}, this store "
                f"{merged['study_key'][:8]}): move it out of {shard.root.parent} and merge again"
            )
        if not merged:
            merged = {k: v for k, v in info.items() if k != "sessions"} | {"sessions": []}
        sessions = merged.setdefault("sessions", [])
        for session in info.get("sessions", []):
            tagged = {**session, "shard": shard.root.name}
            if tagged not in sessions:
                sessions.append(tagged)
    return merged
