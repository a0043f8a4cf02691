"""Pure rules over the province's words: rates, units that change, matching names, portal URLs, province time."""
