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
    p.add_argument("--count", type=int, default=20_000, help="leaderboard: records to generate (in a temp dir)")
    p.add_argument("--store", type=Path, default=None, help="leaderboard: use this store instead of generating one")
    p.add_argument("--clicks", type=int, default=10, help="leaderboard: rounds of warm clicks")
    p.add_argument("--json", type=Path, default=None, help="leaderboard: also write the figures here")
    p.set_defaults(func=run)


def run(args):
    if args.what == "leaderboard":
        from leaderboard.bench import main
        return main(args.count, args.store, args.clicks, args.json)
    from suite.bench import bench_harness, within

    r = bench_harness(args.track, args.target)
    print(f"{r['track']} on {r['target']}: harness p50 {r['harness_p50_ms']:.4f} ms, bare loop p50 "
          f"{r['bare_p50_ms']:.4f} ms, ratio {r['overhead_ratio']:.3f}, {r['overhead_us']:+.2f} µs per call "
          f"({r['rounds']} interleaved rounds x {r['queries_per_round']} queries)")
    if r["per_call_floor_us"]:
        print(f"documented per-call floor on {r['target']}: {r['per_call_floor_us']:.1f} µs; ratio excluding it "
              f"{r['ratio_excluding_floor']:.3f}")
    ok, how = within(r, args.tolerance)
    print("PASS" if ok else "FAIL", f"(tolerance ±{args.tolerance:.0%} on the {how})")
    return 0 if ok else 1
