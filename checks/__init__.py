"""One module per check family; each registers its checks through the `auditbot_checks` hook."""
