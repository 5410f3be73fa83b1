"""The board's per-process state: for each set of record stores, its index (leaderboard/index.py) and the frame
built from the index's latest snapshot. Shared by every browser session of a server and by the preload that
`python -m leaderboard.serve` starts with the server, so the first visitor finds the frame built.

An imported module, not the app script: Streamlit executes leaderboard/app.py afresh on every rerun, while
imported modules stay loaded for the life of the server process."""
from __future__ import annotations

import threading
from pathlib import Path

from leaderboard import data
from leaderboard import index as record_index


class Board:
    """The index of one set of stores, and the frame built from its latest snapshot."""

    def __init__(self, sources):
        self.index = record_index.RecordIndex(sources)
        self.snapshot_id = None
        self.df = None
        self._lock = threading.Lock()  # one frame build at a time (sessions are threads; so is the preload)

    def frame(self):
        """(snapshot, frame): one stat per store unless something changed; the frame is rebuilt only for a
        new snapshot."""
        with self._lock:
            snapshot = self.index.snapshot()
            if id(snapshot) != self.snapshot_id:
                self.df = data.frame_from_rows(snapshot.rows)
                self.snapshot_id = id(snapshot)
            return snapshot, self.df


_BOARDS: dict[tuple, Board] = {}
_BOARDS_LOCK = threading.Lock()
MAX_BOARDS = 4


def board(sources) -> Board:
    """The process's Board for these sources (and index file), made on first use."""
    key = (tuple((s.label, str(Path(s.root))) for s in sources), str(record_index.default_index_path(sources)))
    with _BOARDS_LOCK:
        found = _BOARDS.get(key)
        if found is None:
            while len(_BOARDS) >= MAX_BOARDS:
                _BOARDS.pop(next(iter(_BOARDS)))
            found = _BOARDS[key] = Board(list(sources))
        return found
