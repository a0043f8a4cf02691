"""Findings -> per-unit weekly digests and the provincial summary: annex tables, XLSX, email."""
