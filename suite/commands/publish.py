"""slimbench publish --from DIR: copy validated records into leaderboard/results/ (what a fresh clone shows).

Every file is re-validated (schema + content hash); invalid ones are refused with the reason, as are
records measured with --quick latency loops (noisy smoke numbers) unless --allow-quick, and records timed
under load (suite.measure.load.HIGH_LOAD_SHARE) unless --force. Copies are
atomic and keyed by the record id, so publishing twice is harmless."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub):
    p = sub.add_parser("publish", help="copy validated records from a store into leaderboard/results/")
    p.add_argument("--from", dest="source", type=Path, required=True, help="record store to publish from")
    p.add_argument("--to", dest="dest", type=Path, default=None, help="destination (default leaderboard/results)")
    p.add_argument("--skip-failed", action="store_true", help="publish only status=ok records")
    p.add_argument("--allow-quick", action="store_true", help="also publish records measured with --quick")
    p.add_argument("--force", action="store_true",
                   help="also publish records timed under load (other processes took over 20%% of the CPUs)")
    p.add_argument("--dry-run", action="store_true", help="check and report, copy nothing")
    p.set_defaults(func=run)


def refusal(record: dict, allow_quick: bool, force: bool = False) -> str | None:
    """Why a (schema-valid) record must not be published, or None."""
    from suite.measure.latency import is_quick
    from suite.measure.load import load_refusal

    if not allow_quick and is_quick(record["config"].get("latency_settings")):
        return "measured with --quick latency loops (noisy smoke numbers); re-run without --quick or pass --allow-quick"
    return None if force else load_refusal(record)


def publish(source: Path, dest: Path, skip_failed: bool = False, allow_quick: bool = False,
            dry_run: bool = False, force: bool = False) -> dict[str, list[str]]:
    """{'published': [...], 'already': [...], 'skipped': [...], 'refused': [...]} (one line per file)."""
    from suite.errors import RecordError
    from suite.records.store import RecordStore, as_written

    if not Path(source).is_dir():
        raise RecordError(f"--from {source}: not a directory")
    out = {"published": [], "already": [], "skipped": [], "refused": []}
    target = RecordStore(dest)
    # A record is "already there" when its copy as written now (upgraded to the current schema, re-hashed) is:
    # ids change with the schema version, so an older record published once (and upgraded then) is not
    # published a second time under a new id. (Both sides were validated when read.)
    there = ({as_written(record)["id"] for _, record in target.iter_records(skip_invalid=True)
              if not isinstance(record, RecordError)} if Path(dest).is_dir() else set())
    for path, item in RecordStore(source).iter_records(skip_invalid=True):
        if isinstance(item, RecordError):
            out["refused"].append(f"{path.name}: {item}")
            continue
        cfg = item["config"]
        what = f"{path.name} ({cfg['track']} / {cfg['method']} / {cfg['target']}, {item['status']})"
        reason = refusal(item, allow_quick, force)
        if reason:
            out["refused"].append(f"{what}: {reason}")
        elif skip_failed and item["status"] != "ok":
            out["skipped"].append(f"{what}: failed run (--skip-failed)")
        elif as_written(item)["id"] in there:
            out["already"].append(what)
        else:
            if not dry_run:
                target.write(item)  # re-finalized: same content, same id, atomic write
            out["published"].append(what + (" [dirty tree]" if (item["provenance"].get("code") or {}).get("dirty")
                                             else ""))
    return out


def run(args) -> int:
    from suite.paths import PUBLISHED_RESULTS

    dest = args.dest or PUBLISHED_RESULTS
    out = publish(args.source, dest, args.skip_failed, args.allow_quick, args.dry_run, args.force)
    verb = "would publish" if args.dry_run else "published"
    for key, title in (("published", verb), ("already", "already published"), ("skipped", "skipped"),
                       ("refused", "REFUSED")):
        if out[key]:
            stream = sys.stderr if key == "refused" else sys.stdout
            print(f"{title} ({len(out[key])}):", file=stream)
            for line in out[key]:
                print(f"  {line}", file=stream)
    print(f"\n{len(out['published'])} {verb} into {dest}; {len(out['already'])} already there; "
          f"{len(out['skipped'])} skipped; {len(out['refused'])} refused")
    return 1 if out["refused"] else 0
