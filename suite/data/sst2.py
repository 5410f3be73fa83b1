"""GLUE SST-2 as fixed int64 token-id splits (see datasets/sst2.json).

train.tsv -> train / validation (seeded carve) / calibration (subset of train); dev.tsv -> test.
Sentences become int64 ids (N, 64), pad id 0, with the committed word-level tokenizer, which was built
from the train split only (`build_tokenizer`) and is sha256-verified at every load."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from suite.data.fetch import fetch_file, load_card, sha256_file
from suite.data.splits import DatasetSplits, Split, carve, dataset_loader
from suite.errors import ChecksumError, SlimBenchError
from suite.lazy import require
from suite.paths import REPO_ROOT

PAD, UNK = "[PAD]", "[UNK]"


@dataclass(frozen=True)
class TextSplit:
    sentences: tuple[str, ...]
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    """GLUE layout: header `sentence<TAB>label`, one row per line. Any other shape is an error naming the line."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if not lines or lines[0].rstrip("\r") != "sentence\tlabel":
        raise SlimBenchError(f"{path}: expected the GLUE header 'sentence<TAB>label', found {lines[0][:80]!r}")
    sentences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        sentence, sep, label = line.rstrip("\r").rpartition("\t")
        if not sep or label not in ("0", "1"):
            raise SlimBenchError(f"{path}:{number}: expected 'sentence<TAB>0|1', found {line[:80]!r}")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, np.asarray(labels, dtype=np.int64)


def _read_card_file(name: str) -> tuple[list[str], np.ndarray]:
    card = load_card("sst2")
    sentences, y = read_tsv(fetch_file("sst2", name))
    if len(y) != card["files"][name]["rows"]:
        raise SlimBenchError(f"sst2/{name}: {len(y)} rows, the card says {card['files'][name]['rows']}")
    return sentences, y


@lru_cache(maxsize=None)
def load_text_splits() -> dict[str, TextSplit]:
    """Raw sentences of the method-visible splits (train / validation / calibration), before tokenisation.
    The test sentences (dev.tsv) are read only inside the guarded DatasetSplits built by `load_sst2`."""
    splits = load_card("sst2")["splits"]
    sentences, y = _read_card_file("train.tsv")
    train, val, calib = carve(np.arange(len(y)), y, splits["validation"]["size"], splits["calibration"]["size"])
    pick = lambda part: TextSplit(tuple(sentences[i] for i in part.x), part.y)  # noqa: E731
    return {"train": pick(train), "validation": pick(val), "calibration": pick(calib)}


# -- tokenizer ------------------------------------------------------------------------------------
def tokenizer_spec() -> dict:
    return load_card("sst2")["tokenizer"]


def tokenizer_path() -> Path:
    return REPO_ROOT / tokenizer_spec()["file"]


def build_tokenizer(sentences, vocab_size: int, min_frequency: int, seq_len: int):
    """A word-level tokenizer trained on `sentences` (deterministic: same sentences -> same JSON bytes)."""
    tokenizers = require("tokenizers", "text")
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(unk_token=UNK))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    trainer = tokenizers.trainers.WordLevelTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                                   special_tokens=[PAD, UNK], show_progress=False)
    tok.train_from_iterator(list(sentences), trainer)
    if tok.token_to_id(PAD) != 0 or tok.token_to_id(UNK) != 1:
        raise SlimBenchError("tokenizer build did not put [PAD] at id 0 and [UNK] at id 1")
    tok.enable_truncation(max_length=seq_len)
    tok.enable_padding(length=seq_len, pad_id=0, pad_token=PAD)
    return tok


def build_sst2_tokenizer():
    """The track's tokenizer, rebuilt from the train split with the card's settings."""
    spec = tokenizer_spec()
    return build_tokenizer(load_text_splits()["train"].sentences, spec["vocab_size"], spec["min_frequency"],
                           spec["seq_len"])


def tokenizer_json(tok) -> str:
    return tok.to_str(pretty=False)


def load_tokenizer(path: Path | None = None, expected_sha256: str | None = None):
    """The committed tokenizer, sha256-verified against the dataset card."""
    tokenizers = require("tokenizers", "text")
    path = Path(path or tokenizer_path())
    expected = expected_sha256 or tokenizer_spec()["sha256"]
    if not path.exists():
        raise SlimBenchError(f"SST-2 tokenizer {path} is missing; rebuild it from the train split with "
                             f"`slimbench train-reference --track sst2-transformer` (it is deterministic)")
    found = sha256_file(path)
    if found != expected:
        raise ChecksumError(f"{path}: sha256 {found} does not match datasets/sst2.json ({expected}); the "
                            f"token ids would differ from the ones the reference model was trained on")
    return tokenizers.Tokenizer.from_file(str(path))


def encode(tok, sentences, seq_len: int) -> np.ndarray:
    """Sentences -> int64 ids (N, seq_len), right-padded with 0."""
    ids = np.zeros((len(sentences), seq_len), dtype=np.int64)
    for row, enc in enumerate(tok.encode_batch(list(sentences))):
        values = enc.ids[:seq_len]
        ids[row, :len(values)] = values
    return ids


def tokenize_splits(tok, seq_len: int) -> DatasetSplits:
    """Every split as int64 ids with the given tokenizer (the test split stays behind the guard)."""
    card = load_card("sst2")
    parts = {name: Split(encode(tok, part.sentences, seq_len), part.y) for name, part in load_text_splits().items()}
    test_sentences, test_y = _read_card_file("dev.tsv")
    test = Split(encode(tok, test_sentences, seq_len), test_y)
    return DatasetSplits("sst2", parts["train"], parts["validation"], parts["calibration"], test,
                         {name: spec["sha256"] for name, spec in card["files"].items()}, card["num_classes"])


@dataset_loader("sst2")
def load_sst2() -> DatasetSplits:
    return tokenize_splits(load_tokenizer(), tokenizer_spec()["seq_len"])
