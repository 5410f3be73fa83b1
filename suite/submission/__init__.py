"""Submitting a method and reproducing any entry.

- `sandbox`: the bubblewrap sandbox (namespaces, read-only binds, limits, kill at wall time) that every
  process of submitted code runs in.
- `isolation` / `worker`: a submitted method (a file or an entry point) is described, applied, and its
  artifacts measured in sandboxed workers with the track's wall-time and memory budget.
- `counting`: parameters, non-zeros and bit widths counted from an artifact file (claims are checked).
- `storeguard`: defence in depth: the record store is hashed before and after the method runs.
- `proxy`: the harness-side stand-in class for a submitted method (described by the worker, so that
  the submitted file is never imported into the harness process).
- `bundle` / `submit` / `ingest`: closed-division runs -> a hashed bundle -> validated records.
Re-running a record (`slimbench reproduce ID|BUNDLE`) lives in the one reproduction package, suite/reproduce/
(rerun.py, compare.py, verdict.py); it uses `isolation`, `sources` and `bundle` from here.
"""
