"""driftwarden: drift monitoring for machine-learning models in production, Kafka-native.

The distribution installs this one import package. Its parts are the repository's three
top-level folders, which the build maps under it (pyproject.toml, README "Design notes"):

- `driftwarden.detectors`: pure statistics over counts and histograms;
- `driftwarden.baselines`: the training baseline artifact (build, freeze, store, verify);
- `driftwarden.monitor`: the daemon, replay and the `driftwarden` CLI.

Importing `driftwarden` imports none of them, so it costs nothing; the version below is
the single source the build reads (`[tool.hatch.version]`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
