"""Child process of measure_peak_memory: load the artifact in its target, run batch 1 and batch N, report peak RSS."""
import json
import sys

import numpy as np


def main() -> None:
    target_name, spec, shape, batch = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
    from suite.artifacts import ExportedArtifact
    from suite.targets import get_target
    from suite.targets.base import to_layout

    artifact = ExportedArtifact(**spec)
    runner = get_target(target_name).load(artifact)
    for n in (1, batch):
        x = np.zeros((n, *shape), dtype=artifact.input_dtype)
        runner.predict(to_layout(x, artifact.input_layout))
    from suite.measure.memory import peak_rss_bytes
    print(json.dumps({"peak_rss_bytes": peak_rss_bytes()}))


if __name__ == "__main__":
    main()
