"""SlimBench harness: tracks, targets, measurement, records and the CLI."""

__version__ = "0.1.0"
