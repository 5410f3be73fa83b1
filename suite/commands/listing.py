"""slimbench list [tracks|methods|targets|suites]"""


def register(sub):
    p = sub.add_parser("list", help="list tracks, methods, targets and suites")
    p.add_argument("what", nargs="?", choices=["tracks", "methods", "targets", "suites"], default=None)
    p.set_defaults(func=run)


def _table(rows: list[tuple], headers: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(tuple("-" * w for w in widths))] + [line(r) for r in rows])


def _threads(target) -> str:
    """'1' or 'all usable cores (N here)': the thread count the target computes with on this machine."""
    n = target.thread_count()
    return str(n) if target.intra_op_threads else f"{target.thread_policy()} ({n} here)"


def run(args):
    from methods import METHODS
    from suite.suites import SUITES
    from suite.targets import TARGETS
    from suite.tracks import TRACKS

    sections = {
        "tracks": lambda: _table([(t.name, t.dataset, t.budget.finetune_epochs, t.budget.calibration_samples,
                                   t.description) for t in TRACKS],
                                 ("track", "dataset", "ft-epochs", "calib", "description")),
        "methods": lambda: _table([(m.name, m.family, m.framework, ",".join(m.formats), m.description)
                                   for m in sorted(METHODS, key=lambda m: (m.family, m.name))],
                                  ("method", "family", "framework", "artifacts", "description")),
        "targets": lambda: _table([(t.name, t.runtime, ",".join(t.formats), _threads(t()), t.description)
                                   for t in TARGETS], ("target", "runtime", "runs", "threads", "description")),
        "suites": lambda: _table([(n, f.description) for n, f in SUITES.items()], ("suite", "description")),
    }
    for name in [args.what] if args.what else list(sections):
        print(f"{name}:\n{sections[name]()}\n")
