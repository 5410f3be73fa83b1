"""Submitting a method and reproducing any entry.

- `isolation` / `worker`: a submitted method (a file or an entry point) runs in a separate process
  with the track's wall-time and memory budget, a scratch directory, no store path and no network.
- `storeguard`: defence in depth: the record store is hashed before and after the method runs.
- `proxy`: the harness-side stand-in class for a submitted method (described by the worker, so that
  the submitted file is never imported into the harness process).
- `bundle` / `submit` / `ingest`: closed-division runs -> a hashed bundle -> validated records.
- `reproduce` / `verdict`: re-run a record from its config and seed; a verdict record says if it held.
"""
