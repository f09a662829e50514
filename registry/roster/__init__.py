"""Excel / WPS / CSV rosters (DESIGN §6): read any real village file, find its header,
normalise its cells, and validate and commit its rows through the entry forms and services.

- :mod:`registry.roster.reader` — the file's format from its content, its rows with row numbers.
- :mod:`registry.roster.headers` — the header row under titles, two-level merged headers, name variants.
- :mod:`registry.roster.normalize` — cell values to what the entry form expects.
- :mod:`registry.roster.pipeline` — preview and one-transaction commit.
"""
