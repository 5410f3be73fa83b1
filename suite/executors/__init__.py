"""Executors run a suite's RunSpecs: `local` (this process, one after another) or `ray` (one Ray task per
run on a cluster; see docs/distributed.md). Both go through the same `Session.run` and write records with the
driver's atomic writer; both skip runs whose record (same run key) is already in the store."""
