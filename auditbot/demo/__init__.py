"""`auditbot demo`: the sample province, its invented exports and the sites that serve it."""
