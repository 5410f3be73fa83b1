"""How a Session gets a method's artifact and measures it: an *applier*, chosen by whoever makes the Session.

- `InProcess` (the default): built-in adapters are resolved, configured, applied and measured in this process.
  Submitted code (a spec with a file or entry-point stage) is refused here: it never runs in the harness process.
- `suite.submission.launcher.Isolated(settings)`: built-ins as above; submitted code described, applied and
  measured in sandboxed workers with the track budget's limits (`isolated(settings)` makes one).

The harness only calls these four methods; it never asks whether a method is isolated."""
from __future__ import annotations

from suite.errors import SlimBenchError


class SubmittedCodeRefused(SlimBenchError):
    """A submitted method was given to a Session that runs methods in-process only."""


class InProcess:
    name = "in-process"

    def method_class(self, spec):
        """The class a RunSpec's method names (unknown names raise, nothing is recorded)."""
        from methods.resolve import resolve_method_class
        from suite.methodspec import MethodSpec

        parsed = MethodSpec.parse(spec.method)
        if parsed.submitted:
            raise SubmittedCodeRefused(
                f"method {spec.method!r} is submitted code (a file or an entry point); it runs only isolated: "
                "make the Session with applier=suite.submission.launcher.isolated() (the CLI does)")
        return resolve_method_class(parsed)

    def configure(self, method_cls, spec):
        from methods.resolve import resolve_method
        return resolve_method(spec.method, spec.params)

    def apply(self, session, method, track, context, spec):
        from suite.artifacts import ExportedArtifact
        from suite.data.guard import forbid_test_access
        from suite.tracks.base import ReferenceModel
        from suite.tracks.training import seed_everything

        seed_everything(spec.seed)
        with forbid_test_access(f"method {spec.method!r}"):
            out = method.apply(ReferenceModel(track), context)
        artifacts = [out] if isinstance(out, ExportedArtifact) else list(out or [])
        if not artifacts:
            raise SlimBenchError(f"method {spec.method!r} returned no artifact")
        return artifacts

    def measure(self, session, track, target, splits, artifact, spec) -> dict:
        return session.measure_in_process(track, target, splits, artifact, is_baseline=(spec.method == "fp32"))


IN_PROCESS = InProcess()
