"""slimbench bench harness | leaderboard"""
from pathlib import Path


def register(sub):
    p = sub.add_parser("bench", help="benchmarks of SlimBench itself")
    p.add_argument("what", choices=["harness", "leaderboard"],
                   help="harness: latency-loop overhead vs a bare runtime loop; leaderboard: the board at 20,000 "
                        "records in headless Chromium (leaderboard/bench.py)")
    p.add_argument("--track", default="mnist-lenet5")
    p.add_argument("--target", default="cpu", choices=["cpu", "cpu-1t", "edge"])
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--all", action="store_true", help="harness: every built-in accuracy track on cpu, cpu-1t and "
                                                      "edge, with a Markdown table")
    p.add_argument("--count", type=int, default=20_000, help="leaderboard: records to generate (in a temp dir)")
    p.add_argument("--store", type=Path, default=None, help="leaderboard: use this store instead of generating one")
    p.add_argument("--clicks", type=int, default=10, help="leaderboard: rounds of warm clicks")
    p.add_argument("--json", type=Path, default=None, help="leaderboard: also write the figures here")
    p.set_defaults(func=run)


def run(args):
    if args.what == "leaderboard":
        from leaderboard.bench import main
        return main(args.count, args.store, args.clicks, args.json)
    if args.all:
        return run_sweep(args)
    ok, _ = report(args.track, args.target, args.tolerance)
    return 0 if ok else 1


def report(track: str, target: str, tolerance: float) -> tuple[bool, dict]:
    from suite.bench import bench_harness, within

    r = bench_harness(track, target, tolerance=tolerance)
    ci = r["overhead_ratio_ci"]
    print(f"{r['track']} on {r['target']}: harness p50 {r['harness_p50_ms']:.4f} ms, bare loop p50 "
          f"{r['bare_p50_ms']:.4f} ms, ratio {r['overhead_ratio']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}], "
          f"{r['overhead_us']:+.2f} µs per call ({r['rounds']} interleaved rounds x {r['queries_per_round']} "
          f"queries, {r['elapsed_s']} s)", flush=True)
    if r["per_call_floor_us"]:
        print(f"measured per-call floor of the runner on {r['target']}: {r['per_call_floor_us']:.2f} µs; ratio "
              f"excluding it {r['ratio_excluding_floor']:.3f}")
    aa = r["control_ratio_ci"] or [float("nan")] * 2
    print(f"A/A control (a second bare loop, same rounds): {r['control_ratio']:.3f} [{aa[0]:.3f}, {aa[1]:.3f}] "
          f"({r['control_verdict']} ±{tolerance:.0%})")
    ok, how = within(r, tolerance)
    if not ok and r["control_verdict"] != "within":
        print(f"note: the A/A control is not within ±{tolerance:.0%} either: two identical loops differ this much "
              f"here, so this target cannot resolve ±{tolerance:.0%} at this call size on this machine")
    if ok:
        print(f"PASS (tolerance ±{tolerance:.0%} on the {how}, 95% interval inside it)")
    elif r["verdict"] == "undecided":
        print(f"UNDECIDED: the 95% interval [{ci[0]:.3f}, {ci[1]:.3f}] straddles ±{tolerance:.0%}: this machine's "
              f"round-to-round noise is wider than the tolerance (rerun when it is quiet)")
    else:
        print(f"FAIL (tolerance ±{tolerance:.0%} on the {how})")
    return ok, r


def run_sweep(args) -> int:
    """Every built-in accuracy track on every CPU target; a Markdown table at the end (docs/measurement.md)."""
    from suite.records.provenance import cpu_info
    from suite.tracks import TRACKS

    tracks = [name for name in TRACKS.names() if getattr(TRACKS.get(name), "kind", "") != "speed"]
    rows = []
    for track in tracks:
        for target in ("cpu", "cpu-1t", "edge"):
            ok, r = report(track, target, args.tolerance)
            rows.append((track, target, ok, r))
    cpu = cpu_info()
    print(f"\n{cpu.get('model')} ({cpu.get('isa_class')}, {cpu.get('logical_cores')} logical cores)\n")
    print("| track | target | harness / bare p50 (µs) | ratio [95% CI] | A/A control [95% CI] | rounds × queries "
          "| verdict |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for track, target, ok, r in rows:
        lo, hi = r["overhead_ratio_ci"]
        alo, ahi = r["control_ratio_ci"] or [float("nan")] * 2
        verdict = "pass" if ok else r["verdict"] + (" (A/A not within either)" if r["control_verdict"] != "within"
                                                    else "")
        print(f"| {track} | {target} | {r['harness_p50_ms'] * 1e3:.2f} / {r['bare_p50_ms'] * 1e3:.2f} | "
              f"**{r['overhead_ratio']:.3f}** [{lo:.3f}, {hi:.3f}] | {r['control_ratio']:.3f} [{alo:.3f}, {ahi:.3f}] | "
              f"{r['rounds']} × {r['queries_per_round']} | {verdict} |")
    return 0 if all(row[2] for row in rows) else 1
