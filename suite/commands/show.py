"""slimbench show ID"""
import json
from pathlib import Path


def register(sub):
    p = sub.add_parser("show", help="print a record (by id or id prefix) from the store or the published results")
    p.add_argument("id")
    p.add_argument("--store", type=Path, default=None)
    p.set_defaults(func=run)


def run(args):
    from suite.errors import RecordError
    from suite.paths import PUBLISHED_RESULTS, default_store
    from suite.records.store import RecordStore

    errors = []
    for root in [args.store or default_store(), PUBLISHED_RESULTS]:
        try:
            record = RecordStore(root).find(args.id)
        except RecordError as exc:
            errors.append(str(exc))
            continue
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    raise RecordError("; ".join(errors))
