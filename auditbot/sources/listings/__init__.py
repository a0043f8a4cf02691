"""Unit websites -> the procedures they list: fetching pages, reading them, page by page."""
