"""The Decision 766 index, all of it: the formula table, what it counts, the portal's own figures, and how people read it."""
