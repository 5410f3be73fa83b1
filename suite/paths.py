"""Where things live: repo files, the user cache, the default record store."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASET_CARDS = REPO_ROOT / "datasets"
CHECKPOINTS = Path(__file__).resolve().parent / "tracks" / "checkpoints"
PUBLISHED_RESULTS = REPO_ROOT / "leaderboard" / "results"


def cache_dir() -> Path:
    return Path(os.environ.get("SLIMBENCH_CACHE", Path.home() / ".cache" / "slimbench"))


def data_dir() -> Path | None:
    value = os.environ.get("SLIMBENCH_DATA")
    return Path(value) if value else None


def default_store() -> Path:
    return Path.cwd() / "results"
