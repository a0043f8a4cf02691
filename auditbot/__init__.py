"""auditbot: audits a province's administrative procedures and dossiers, and alerts each unit."""
