"""Errors that users fix themselves: the CLI prints them plainly and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A usage, configuration or input problem; never a traceback."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class ConfigError(UserError):
    """rules.toml (or a file it names) is wrong."""


class InputError(UserError):
    """An input file cannot be read at all."""
