"""Plugins for the whole run (tests/ and examples/)."""

pytest_plugins = ["tests.gil_guard"]
