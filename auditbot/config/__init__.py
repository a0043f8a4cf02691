"""Rules: rules.toml read into typed objects, and what ships inside the package."""
