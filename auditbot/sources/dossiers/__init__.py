"""Dossier exports and the portal's sync records -> the dossiers table."""
