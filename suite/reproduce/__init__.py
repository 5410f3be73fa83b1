"""Reproductions of published results: cards in reproductions/, runners in `papers.PAPERS`,
verdict tables in `verdict`, harness plumbing in `runner`. Run with `slimbench reproduce --paper NAME`."""
