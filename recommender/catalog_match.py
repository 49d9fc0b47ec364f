"""Match the movies of one catalog to another's (ML-100K ids to today's MovieLens ids).

A movie matches when one of its names (main title, article forms, aliases) and its year
equal a target movie's (the year may differ by one: datasets disagree on festival and
release years). Fuzzy search is not used: it pairs "Curdled (1996)" with "Ed (1996)", and
a wrong match moves a member's rating to the wrong film. Anything else stays unmatched.
"""

from __future__ import annotations

from recommender.data import Catalog
from recommender.titles import title_variants


def match_catalogs(source: Catalog, target: Catalog) -> dict[int, int]:
    """Source movie id -> target movie id for every movie found in both."""
    by_name: dict[tuple[str, int], int] = {}
    for row, title in enumerate(target.titles):
        year = int(target.years[row])
        for name in title_variants(title):
            by_name.setdefault((name, year), int(target.movie_ids[row]))
    mapping: dict[int, int] = {}
    for row, title in enumerate(source.titles):
        movie, year = int(source.movie_ids[row]), int(source.years[row])
        names = title_variants(title)
        keys = [(n, y) for y in (year, year - 1, year + 1) for n in names] if year else []
        found = next((by_name[k] for k in keys if k in by_name), None)
        if found is not None:
            mapping[movie] = found
    return mapping
