"""System set-up the test suite needs beyond the venv (run by `make test` before pytest)."""
