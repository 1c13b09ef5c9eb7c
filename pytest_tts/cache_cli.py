"""``pytest-tts cache``: inspect, move and trim the sample store.

::

    pytest-tts cache info [--json]        pools, sample counts, sizes, provenance
    pytest-tts cache export FILE          a consistent copy of the store (one SQLite file)
    pytest-tts cache import FILE          merge an exported store into this one
    pytest-tts cache prune [--unused-days D] [--pool KEY]

Export on the GPU job, import on the CPU-only CI job, then run ``pytest --tts-offline``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from pytest_tts.errors import StoreError
from pytest_tts.store import DEFAULT_CACHE_DIR, STORE_FILENAME, PoolInfo, SampleStore


def add_cache_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "cache",
        help="inspect, export, import or prune the sample store",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--cache-dir",
        default=DEFAULT_CACHE_DIR,
        metavar="DIR",
        help=f"the cache folder (default: {DEFAULT_CACHE_DIR}, as pytest uses at its rootdir)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="pools, sample counts, sizes and provenance")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=_info)
    export = actions.add_parser("export", help="write a copy of the store to FILE")
    export.add_argument("file", type=Path)
    export.set_defaults(func=_export)
    imp = actions.add_parser("import", help="merge a store exported to FILE into this one")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=_import)
    prune = actions.add_parser("prune", help="delete pools, then compact the file")
    prune.add_argument(
        "--unused-days",
        type=float,
        default=None,
        metavar="D",
        help="delete pools no run has used for D days (default 30 when no --pool is given)",
    )
    prune.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="KEY",
        help="delete the pool whose key starts with KEY (as `cache info` shows it); repeatable",
    )
    prune.set_defaults(func=_prune)


def _open(args: argparse.Namespace, *, must_exist: bool = True) -> SampleStore:
    path = Path(args.cache_dir) / STORE_FILENAME
    if must_exist and not path.exists():
        msg = f"no sample store at {path} (pass --cache-dir DIR)"
        raise StoreError(msg)
    return SampleStore(path)


def _run(func: Any, args: argparse.Namespace) -> int:
    try:
        status: int = func(args)
    except StoreError as exc:
        print(f"pytest-tts cache: error: {exc}", file=sys.stderr)
        return 1
    return status


def _info(args: argparse.Namespace) -> int:
    return _run(_info_impl, args)


def _export(args: argparse.Namespace) -> int:
    return _run(_export_impl, args)


def _import(args: argparse.Namespace) -> int:
    return _run(_import_impl, args)


def _prune(args: argparse.Namespace) -> int:
    return _run(_prune_impl, args)


def _summary(p: PoolInfo) -> dict[str, Any]:
    prov = p.provenance
    sampling = prov.get("sampling", {})
    return {
        "key": p.key,
        "model": prov.get("model", ""),
        "model_hash": str(prov.get("model_hash", ""))[:12],
        "engine": f"{prov.get('engine', '?')} {prov.get('engine_version', '')}".strip(),
        "sampling": ", ".join(
            f"{k}={sampling[k]}"
            for k in ("temperature", "top_p", "max_tokens", "seed")
            if k in sampling
        ),
        "prompts": p.prompts,
        "samples": p.samples,
        "tokens": p.completion_tokens,
        "bytes": p.bytes,
        "last_used": datetime.datetime.fromtimestamp(p.last_used, datetime.UTC).isoformat(
            timespec="seconds"
        ),
    }


def _info_impl(args: argparse.Namespace) -> int:
    with _open(args) as store:
        pools = store.pools()
        if args.json:
            out = {
                "path": str(store.path),
                "file_bytes": store.file_bytes(),
                "pools": [
                    {**_summary(p), "provenance": p.provenance, "created": p.created} for p in pools
                ],
            }
            print(json.dumps(out, indent=2, sort_keys=True))
            return 0
        from tabulate import tabulate

        rows = [
            {**(s := _summary(p)), "key": s["key"][:12], "bytes": _size(p.bytes)} for p in pools
        ]
        print(
            f"{store.path}: {len(pools)} pools, {sum(p.samples for p in pools):,} samples, "
            f"{_size(store.file_bytes())} on disk"
        )
        if rows:
            print(tabulate(rows, headers="keys", intfmt=","))
    return 0


def _export_impl(args: argparse.Namespace) -> int:
    with _open(args) as store:
        store.export_to(args.file)
        print(f"exported {store.sample_count():,} samples to {args.file}")
    return 0


def _import_impl(args: argparse.Namespace) -> int:
    with _open(args, must_exist=False) as store:
        samples, verdicts = store.import_from(args.file)
        print(f"imported {samples:,} new samples and {verdicts:,} new verdicts into {store.path}")
    return 0


def _prune_impl(args: argparse.Namespace) -> int:
    days = args.unused_days
    if days is None and not args.pool:
        days = 30.0
    with _open(args) as store:
        removed = store.prune(unused_for_s=None if days is None else days * 86400.0, keys=args.pool)
        print(
            f"removed {removed} pools; {store.sample_count():,} samples remain "
            f"({_size(store.file_bytes())})"
        )
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
