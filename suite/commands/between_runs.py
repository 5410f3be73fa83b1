"""slimbench between-runs show | add --store S [--group G] | reset: this machine's between-run spread of speedups
(suite/measure/between_runs.py), which `run --repeat N` measures and every later record adds to its intervals."""
from __future__ import annotations

from pathlib import Path


def register(sub):
    p = sub.add_parser("between-runs", help="this machine's between-run spread of speedups (from --repeat groups)")
    p.add_argument("action", choices=["show", "add", "reset"],
                   help="show: the spread per target; add: enter the --repeat groups of a store (e.g. one whose "
                        "run was interrupted before it added its group); reset: forget this machine's groups")
    p.add_argument("--store", type=Path, default=None, help="add: the record store holding the groups")
    p.add_argument("--group", default=None, help="add: only this group id (config.repeat.group)")
    p.set_defaults(func=run)


def this_machine() -> str:
    """The id records made here carry (their provenance's cpu and hostname; not the whole provenance, whose
    package versions and git state cost a second to collect)."""
    import socket

    from suite.measure import between_runs
    from suite.records.provenance import cpu_info

    return between_runs.machine_id(cpu_info(), socket.gethostname())


def run(args) -> int:
    from suite.errors import ConfigError
    from suite.measure import between_runs

    machine = this_machine()
    path = between_runs.floor_path(machine)
    if args.action == "reset":
        path.unlink(missing_ok=True)
        print(f"forgot this machine's between-run spread ({path})")
        return 0
    if args.action == "add":
        if args.store is None:
            raise ConfigError("between-runs add needs --store (the record store holding the --repeat groups)")
        from suite.records.store import RecordStore

        groups: dict[str, list[dict]] = {}
        for record in RecordStore(args.store).records():
            group = (record["config"].get("repeat") or {}).get("group")
            if group and (args.group is None or group == args.group):
                groups.setdefault(group, []).append(record)
        if not groups:
            raise ConfigError(f"no --repeat group{' ' + args.group if args.group else ''} in {args.store}")
        for group, records in sorted(groups.items()):
            if between_runs.machine_of(records[0]) != machine:
                print(f"group {group}: not added (measured on another machine)")
            elif between_runs.add_group(records) is None:
                print(f"group {group}: not added ({between_runs.contributes(records)})")
            else:
                print(f"group {group}: added ({len(records)} runs)")
    data = between_runs.load(machine)
    if not data or not data.get("targets"):
        print(f"no between-run spread measured on this machine ({path}): records' intervals cover their run only; "
              f"`slimbench run --track T --method M --target X --repeat 5` measures it")
        return 0
    print(f"this machine ({data.get('cpu')}, {machine}; {path}):")
    for target in sorted(data["targets"]):
        print(f"  {target}: {between_runs.describe(between_runs.floor(data, target))}")
    return 0
