"""Running unattended: the daemon, its logs, one writer at a time, one daemon per database."""
