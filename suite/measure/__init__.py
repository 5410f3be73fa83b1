"""Measurement: accuracy in the target runtime, latency/throughput on real kernels, memory, size."""
