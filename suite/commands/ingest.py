"""slimbench ingest BUNDLE [--store DIR]"""
from __future__ import annotations

from pathlib import Path


def register(sub):
    p = sub.add_parser("ingest", help="validate a submission bundle and add its records to a store (all or nothing)")
    p.add_argument("bundle", type=Path, help="bundle directory or .tar.gz written by `slimbench submit`")
    p.add_argument("--store", type=Path, default=None, help="record store directory (default ./results)")
    p.add_argument("--min-relative-accuracy", type=float, default=None,
                   help="accuracy gate as a fraction of fp32 on the same track/target (default 0.99)")
    p.add_argument("--force", action="store_true",
                   help="accept records timed under load (other processes took over 20%% of the CPUs)")
    p.set_defaults(func=run)


def run(args) -> int:
    from suite.paths import default_store
    from suite.report import format_table
    from suite.submission.ingest import MIN_RELATIVE_ACCURACY, ingest

    store = args.store or default_store()
    gate = MIN_RELATIVE_ACCURACY if args.min_relative_accuracy is None else args.min_relative_accuracy
    result = ingest(args.bundle, store, gate, force=args.force)
    print(format_table(result["records"]))
    print(f"\ningested {args.bundle}: {len(result['added'])} record(s) added to {store}"
          + (f", {len(result['present'])} already present" if result["present"] else "")
          + f"; method source kept at {result['source']}")
    return 0
