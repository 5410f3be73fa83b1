"""Tracks: a fixed dataset + fixed reference model + fixed budget, registered by name."""
from suite.registry import Registry


def _load_builtin() -> None:
    from suite.tracks import builtin, speed  # noqa: F401  (speed: definitions are imported only when built)
    try:
        from suite.tracks import sst2  # noqa: F401  (text track; optional)
    except ImportError:
        pass


TRACKS = Registry("track", loader=_load_builtin)


def get_track(name: str):
    return TRACKS.get(name)()
