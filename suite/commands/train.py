"""slimbench train-reference --track T"""


def register(sub):
    p = sub.add_parser("train-reference", help="re-train a track's reference checkpoint with its fixed-seed recipe")
    p.add_argument("--track", required=True)
    p.set_defaults(func=run)


def run(args):
    import json

    from suite.tracks import get_track
    from suite.tracks.reference import train_reference

    meta = train_reference(get_track(args.track))
    print(json.dumps(meta, indent=2))
