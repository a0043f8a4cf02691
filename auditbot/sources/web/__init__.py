"""Asking other hosts: one bounded HTTP exchange, what it brought back, pages built by scripts in Chromium."""
