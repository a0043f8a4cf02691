"""`python -m auditbot`: the same command as `auditbot`."""

from auditbot.cli import cli

if __name__ == "__main__":
    cli(prog_name="auditbot")
