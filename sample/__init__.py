"""The sample province's data (its policy is ../rules.toml): a package so importlib.resources finds it."""
