"""Shared fixtures: tiny deterministic MovieLens lookalikes and the real datasets when present."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

FIXTURE_TITLES = [
    "Toy Story (1995)",
    "GoldenEye (1995)",
    "Seven (Se7en) (1995)",
    "Usual Suspects, The (1995)",
    "Misérables, Les (1995)",
    "Alien (1979)",
    "Aliens (1986)",
    "Pulp Fiction (1994)",
    "Shawshank Redemption, The (1994)",
    "Hamlet (1996)",
    "Hamlet (1948)",
    "Double vie de Véronique, La (Double Life of Veronique, The) (1991)",
    "Chasing Amy (1997)",
    "Star Wars (1977)",
    "Fargo (1996)",
    "Heat (1995)",
    "Casablanca (1942)",
    "Jaws (1975)",
    "Twelve Monkeys (1995)",
    "Babe (1995)",
]
N_FIXTURE_USERS = 60
N_FILLER = 30  # extra generic movies so the catalog has some depth


def fixture_catalog_lines() -> list[tuple[int, str, list[int]]]:
    """(movie id, title, genre flags) rows: 20 named movies, 30 fillers, a duplicate, 'unknown'."""
    rows = []
    rng = np.random.default_rng(7)
    titles = FIXTURE_TITLES + [f"Filler Movie {k} (19{60 + k})" for k in range(N_FILLER)]
    for k, title in enumerate(titles, start=1):
        flags = [0] * 19
        flags[1 + (k % 18)] = 1
        flags[1 + int(rng.integers(0, 18))] = 1
        rows.append((k, title, flags))
    rows.append((len(titles) + 1, "Chasing Amy (1997)", rows[12][2]))  # duplicate of id 13
    rows.append((len(titles) + 2, "unknown", [1] + [0] * 18))
    return rows


def write_ml100k(folder: Path, seed: int = 0) -> Path:
    """Write a tiny ml-100k lookalike (u.item latin-1, u.data, u.genre, u1 fold) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = fixture_catalog_lines()
    genres = "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n"
    genres += "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\n"
    genres += "Mystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"
    (folder / "u.genre").write_text(genres, encoding="latin-1")
    lines = [
        f"{mid}|{title}|01-Jan-1995||http://us.imdb.com/M/title-exact?x|" + "|".join(map(str, fl))
        for mid, title, fl in rows
    ]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    rng = np.random.default_rng(seed)
    n_items = len(rows)
    taste_u = rng.standard_normal((N_FIXTURE_USERS, 2))
    taste_i = rng.standard_normal((n_items, 2))
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.5
    data = []
    ts = 880000000
    for u in range(N_FIXTURE_USERS):
        count = int(rng.integers(8, 30))
        items = rng.choice(n_items, count, replace=False, p=popularity / popularity.sum())
        for i in items:
            stars = int(np.clip(np.rint(3.2 + taste_u[u] @ taste_i[i]), 1, 5))
            ts += 1
            data.append((u + 1, int(i) + 1, stars, ts))
    text = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in data)
    (folder / "u.data").write_text(text)
    split = int(len(data) * 0.8)
    order = np.random.default_rng(1).permutation(len(data))
    base = [data[k] for k in sorted(order[:split])]
    test = [data[k] for k in sorted(order[split:])]
    (folder / "u1.base").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in base))
    (folder / "u1.test").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in test))
    return folder


@pytest.fixture
def ml100k_dir(tmp_path: Path) -> Path:
    """A MOVIELENS_DIR-style folder holding the tiny ml-100k lookalike."""
    write_ml100k(tmp_path / "movielens" / "ml-100k")
    return tmp_path / "movielens"


def real_movielens_dir() -> Path | None:
    """The real MovieLens folder from MOVIELENS_DIR, if it holds ml-100k."""
    env = os.environ.get("MOVIELENS_DIR")
    if env and (Path(env) / "ml-100k" / "u.data").is_file():
        return Path(env)
    return None


@pytest.fixture(scope="session")
def real_ml100k():
    """The real ml-100k, loaded once per test session; skips when MOVIELENS_DIR lacks it."""
    folder = real_movielens_dir()
    if folder is None:
        pytest.skip("real MovieLens 100K absent: set MOVIELENS_DIR to a folder with ml-100k/")
    from recommender.movielens import load_movielens

    return load_movielens("ml-100k", folder / "ml-100k")


def write_latest_small(folder: Path, seed: int = 0) -> Path:
    """Write a tiny ml-latest-small lookalike (movies.csv, links.csv, ratings.csv; no folds)."""
    folder.mkdir(parents=True, exist_ok=True)
    genres = ["Action", "Comedy", "Crime", "Drama", "Horror", "Sci-Fi", "Thriller"]
    titles = [*FIXTURE_TITLES, "Untitled Project", "Genreless Film (2018)"]
    rows = [
        (k, t, f"{genres[k % len(genres)]}|{genres[3 * k % len(genres)]}")
        for k, t in enumerate(titles, start=1)
    ]
    rows[-1] = (len(titles), titles[-1], "(no genres listed)")
    with (folder / "movies.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["movieId", "title", "genres"])
        writer.writerows(rows)
    links = [f"{k},{1000000 + k:07d},{'' if k == 3 else 100 + k}" for k, _, _ in rows]
    (folder / "links.csv").write_text("movieId,imdbId,tmdbId\n" + "\n".join(links) + "\n")
    rng = np.random.default_rng(seed)
    lines = ["userId,movieId,rating,timestamp"]
    for u in range(1, 41):
        for i in rng.choice(len(rows), int(rng.integers(6, 15)), replace=False):
            stars = float(rng.integers(1, 11)) / 2
            lines.append(f"{u},{int(i) + 1},{stars},{1500000000 + len(lines)}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def latest_small_dir(tmp_path: Path) -> Path:
    """A MOVIELENS_DIR-style folder holding the tiny ml-latest-small lookalike."""
    write_latest_small(tmp_path / "movielens" / "ml-latest-small")
    return tmp_path / "movielens"


@pytest.fixture(scope="session")
def real_latest_small():
    """The real ml-latest-small, loaded once per session; skips when MOVIELENS_DIR lacks it."""
    env = os.environ.get("MOVIELENS_DIR")
    folder = Path(env) / "ml-latest-small" if env else None
    if folder is None or not (folder / "ratings.csv").is_file():
        pytest.skip("real ml-latest-small absent: set MOVIELENS_DIR to a folder with it")
    from recommender.movielens import load_movielens

    return load_movielens("ml-latest-small", folder)
