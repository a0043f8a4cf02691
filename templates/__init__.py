"""What people read: wording, annex and form layouts, Datasette's metadata (a package so importlib.resources finds it in every install)."""
