"""The words real catalogues, exports and portal pages use, and the national procedure code.

No I/O and no imports from the rest of auditbot: config validates rules.toml against these names, and
the sources read files with them.
"""
