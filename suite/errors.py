"""Errors that carry a message meant for the user (the CLI prints them without a traceback)."""


class SlimBenchError(Exception):
    """Base class: the message says what is wrong and what to do."""


class UnknownNameError(SlimBenchError, KeyError):
    def __init__(self, kind: str, name: str, valid: list[str]):
        import difflib

        self.kind, self.name, self.valid = kind, name, valid
        close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint}; valid {kind}s: {', '.join(sorted(valid)) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class ConfigError(SlimBenchError, ValueError):
    """A method/track/run configuration is invalid."""


class ChecksumError(SlimBenchError):
    pass


class DatasetUnavailableError(SlimBenchError):
    pass


class RecordError(SlimBenchError):
    """A record file is corrupt or does not validate against the schema."""


class ArtifactFormatError(SlimBenchError):
    """A target was given an artifact format it cannot run."""


class TestSplitAccessError(SlimBenchError):
    """A method tried to read the test split."""

    __test__ = False  # not a pytest test class


class MissingExtraError(SlimBenchError, ImportError):
    def __init__(self, module: str, extra: str):
        super().__init__(
            f"this needs the Python package {module!r}; install the extra: pip install -e '.[{extra}]'"
        )


class TargetUnavailableError(SlimBenchError):
    """The target's runtime or hardware is not present on this machine."""
