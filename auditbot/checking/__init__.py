"""Running checks: the shapes checks and the engine agree on, the plugin hook, selection, the engine."""
