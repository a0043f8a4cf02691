"""The findings history in Datasette: views people read, Vietnamese metadata, charts, and the guarded server."""
