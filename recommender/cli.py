"""`python -m recommender`: demo, evaluate, recommend, similar, search, fit, bench and
bench-engines."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

from recommender.config import ALSConfig, RankingConfig
from recommender.data import Catalog, natural_title
from recommender.datasets import fit_full, load_dataset, title_index
from recommender.download import DatasetError
from recommender.model import FitEngine
from recommender.spark_engine import (
    DEFAULT_MASTER,
    IMPLICIT_REG_PARAM,
    REG_PARAM,
    SparkEngine,
    SparkUnavailable,
)

log = logging.getLogger("recommender")


def _rows(
    catalog: Catalog, ids: object, scores: object, natural: bool = False
) -> list[dict[str, object]]:
    """JSON rows; `natural` adds a "display" title (the demo keeps the seed's exact output)."""
    rows: list[dict[str, object]] = [
        {"movie_id": int(m), "title": catalog.title(int(m)), "score": round(float(s), 4)}
        for m, s in zip(ids, scores, strict=True)  # type: ignore[call-overload]
    ]
    if natural:
        for row in rows:
            row["display"] = natural_title(str(row["title"]))
    return rows


def _table(title: str, rows: list[dict[str, object]], score_name: str, key: str = "title") -> str:
    width = max([len(str(r[key])) for r in rows] + [5])
    lines = [title, f"{'Rank':>4}  {'Movie':<{width}}  {score_name:>10}"]
    lines += [
        f"{k:>4}  {r[key]!s:<{width}}  {float(r['score']):>10.3f}"  # type: ignore[arg-type]
        for k, r in enumerate(rows, 1)
    ]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, payload: object, text: str) -> None:
    sys.stdout.write((json.dumps(payload, indent=2) if args.json else text) + "\n")


def cmd_demo(args: argparse.Namespace) -> None:
    """The seed notebook's two tables: top picks for a sample user, movies like Se7en."""
    ml = load_dataset(args.dataset, args.data_dir)
    model = fit_full(ml)
    user = int(ml.ratings.users[0])
    ids, _ = model.recommend(user, args.n)
    stars = model.predict(user, ids)
    seven = title_index(ml).resolve("se7en").movie
    if seven is None:
        raise ValueError("Se7en is not in this catalog")
    sim_ids, sims = model.similar_items(seven.movie_id, args.n)
    recs, similar = _rows(ml.catalog, ids, stars), _rows(ml.catalog, sim_ids, sims)
    _emit(
        args,
        {"user": user, "recommendations": recs, "similar_to": seven.title, "similar": similar},
        _table(f"Top recommendations for user {user}", recs, "Predicted")
        + "\n\n"
        + _table(f"Movies similar to {seven.title}", similar, "Similarity"),
    )


def cmd_recommend(args: argparse.Namespace) -> None:
    """Top-N for one MovieLens user."""
    ml = load_dataset(args.dataset, args.data_dir)
    model = fit_full(ml)
    if not model.has_user(args.user):
        raise ValueError(f"unknown user {args.user}")
    ids, _ = model.recommend(args.user, args.n)
    rows = _rows(ml.catalog, ids, model.predict(args.user, ids), natural=True)
    heading = f"Top recommendations for user {args.user}"
    _emit(args, rows, _table(heading, rows, "Predicted", "display"))


def cmd_similar(args: argparse.Namespace) -> None:
    """Movies similar to the movie a title query resolves to."""
    ml = load_dataset(args.dataset, args.data_dir)
    model = fit_full(ml)
    found = title_index(ml).resolve(args.query)
    if found.movie is None:
        options = ", ".join(natural_title(c.title) for c in found.candidates) or "no close titles"
        raise ValueError(f"{args.query!r} is ambiguous or unknown; did you mean: {options}")
    ids, sims = model.similar_items(found.movie.movie_id, args.n)
    rows = _rows(ml.catalog, ids, sims, natural=True)
    heading = f"Movies similar to {natural_title(found.movie.title)}"
    _emit(args, rows, _table(heading, rows, "Similarity", "display"))


def cmd_search(args: argparse.Namespace) -> None:
    """Fuzzy title search."""
    ml = load_dataset(args.dataset, args.data_dir)
    matches = title_index(ml).search(args.query, args.limit)
    rows = [
        {
            "movie_id": m.movie_id,
            "title": m.title,
            "display": natural_title(m.title),
            "score": m.score,
        }
        for m in matches
    ]
    text = _table(f"Titles matching {args.query!r}", rows, "Score", "display") if rows else ""
    _emit(args, rows, text)


@contextlib.contextmanager
def _engine(args: argparse.Namespace, config: ALSConfig) -> Iterator[FitEngine | None]:
    """The fit engine `--engine` names: None fits in this process, "spark" on Spark."""
    if args.engine == "numpy":
        yield None
        return
    with SparkEngine(
        config,
        master=args.spark_master,
        reg_param=args.spark_reg_param,
        implicit_reg_param=args.spark_implicit_reg_param,
    ) as engine:
        yield engine


def cmd_fit(args: argparse.Namespace) -> None:
    """Fit on the whole dataset and write a snapshot."""
    from recommender.snapshot import save_model

    ml = load_dataset(args.dataset, args.data_dir)
    config = ALSConfig()
    with _engine(args, config) as engine:
        model = fit_full(ml, config, engine)
    out = args.out or args.data_dir / "models" / f"{args.dataset}.npz"
    path = save_model(model, out)
    payload = {"snapshot": str(path), "fingerprint": model.fingerprint, **model.meta}
    _emit(args, payload, f"wrote {path} (fit {model.meta['fit_seconds']} s)")


def configs_with(overrides: list[str]) -> tuple[ALSConfig, RankingConfig]:
    """Default configs with NAME=VALUE overrides of their fields (each name in one of them)."""
    changes: dict[type, dict[str, object]] = {ALSConfig: {}, RankingConfig: {}}
    for item in overrides:
        name, sep, value = item.partition("=")
        owner = next((c for c in changes if name in {f.name for f in fields(c)}), None)
        if not sep or owner is None:
            raise ValueError(f"--set {item}: expected NAME=VALUE with a config field name")
        kind = type(getattr(owner(), name))
        changes[owner][name] = value if kind is str else kind(float(value))
    return ALSConfig(**changes[ALSConfig]), RankingConfig(**changes[RankingConfig])


def _folds(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The folds `--folds` or `--split` names (None: the dataset's default split)."""
    folds = tuple(f.strip() for f in (args.folds or "").split(",") if f.strip()) or None
    if args.split is None:
        return folds
    if folds is not None:
        raise ValueError("give --folds or --split, not both")
    return (args.split,)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """RMSE/MAE and ranking quality on the canonical folds, or a seeded random 5-fold split."""
    from recommender.evaluate import evaluate

    ml = load_dataset(args.dataset, args.data_dir)
    config, ranking = configs_with(args.set)
    with _engine(args, config) as engine:
        result = evaluate(ml, _folds(args), config, ranking, engine=engine)
    lines = [f"split {result['split']}", f"{'fold':<5} {'rmse':>7} {'mae':>7} {'fit s':>7}"]
    for row in result["folds"]:  # type: ignore[attr-defined]
        lines.append(
            f"{row['fold']:<5} {row['rmse']:>7.4f} {row['mae']:>7.4f} {row['fit_seconds']:>7.2f}  "
            + "  ".join(
                f"{b['support']} ratings: {b['rmse']:.4f} ({b['share']:.1%})"
                for b in row["by_support"]
            )
        )
    rank = result["ranking"]
    lines.append(f"mean RMSE {result['rmse_mean']:.4f}  MAE {result['mae_mean']:.4f}")
    for name in ("model", "popularity"):
        r = rank[name]  # type: ignore[index]
        lines.append(
            f"{name:<10} precision@10 {r['precision']:.4f}  NDCG@10 {r['ndcg']:.4f}  "
            f"diversity {r['diversity']:.3f}  popularity rank {r['popularity_rank']:.0f}  "
            f"coverage {r['coverage']:.1%}"
        )
    for name, label in (("model", "similar"), ("factors_only", "similar (factor cosine)")):
        r = result["similar"][name]  # type: ignore[index]
        lines.append(
            f"{label:<23} hit rate@10 {r['hit_rate']:.3f}  precision@10 {r['precision']:.4f}  "
            f"genre agreement {r['genre_agreement']:.3f}"
        )
    _emit(args, result, "\n".join(lines))


def cmd_evaluate_groups(args: argparse.Namespace) -> None:
    """Group strategies and baselines on sampled groups of held-out users."""
    from recommender.group_evaluation import evaluate_groups

    ml = load_dataset(args.dataset, args.data_dir)
    config, ranking = configs_with(args.set)
    result = evaluate_groups(ml, _folds(args), args.groups, config=config, ranking=ranking)
    head = f"{'size':>4} {'kind':<9} {'strategy':<23} {'NDCG mean':>16} {'NDCG min':>8} "
    lines = [head + f"{'P@10 mean':>9} {'P@10 min':>8}"]
    for row in result["groups"]:  # type: ignore[attr-defined]
        ci = row["ci95"]
        lines.append(
            f"{row['size']:>4} {row['kind']:<9} {row['strategy']:<23} "
            f"{row['ndcg_mean']:>8.4f} ±{ci['ndcg_mean']:.4f} {row['ndcg_min']:>8.4f} "
            f"{row['precision_mean']:>9.4f} {row['precision_min']:>8.4f}"
        )
    _emit(args, result, "\n".join(lines))


def cmd_bench(args: argparse.Namespace) -> None:
    """ALS seconds per iteration and memory (against peers if asked), search and recommend
    latency."""
    from recommender.bench import run_bench
    from recommender.peers import missing_message

    peers = ["implicit"] * args.compare_implicit + ["lenskit"] * args.compare_lenskit
    result = run_bench(
        args.dataset,
        args.data_dir,
        sizes=[s.strip() for s in args.sizes.split(",") if s.strip()],
        factors=[int(f) for f in args.factors.split(",") if f.strip()],
        iterations=args.iterations,
        peers=peers,
        bayes=args.model == "bayes",
        latency=not args.no_latency,
        threads=args.threads,
    )
    _emit(args, result, bench_table(result, [missing_message(n) for n in result["missing_peers"]]))


def bench_table(result: dict, notes: list[str]) -> str:
    """The benchmark as text: seconds per iteration (medians) per size, peers and ratios."""
    found = result["peers"]
    head = f"{'dataset':<10} {'factors':>7} {'cg s/it':>8} {'exact':>8} {'cg+pref':>8}"
    for name in found:
        head += f" {name[:8]:>8} {'cg/' + name[:4]:>9} {'fit/' + name[:4]:>9}"
    bayes = any("seconds_per_sweep_bayes" in row for row in result["als"])
    head += f" {'bayes/sw':>9} {'bayes fit':>9}" if bayes else ""
    lines = [head + f" {'peak MB':>8}"]
    for row in result["als"]:
        if "error" in row:
            lines.append(f"{row['dataset']:<10} {row['factors']:>7} failed: {row['error']}")
            continue
        line = (
            f"{row['dataset']:<10} {row['factors']:>7} {row['seconds_per_iteration']:>8.4f} "
            f"{row['seconds_per_iteration_exact']:>8.4f} "
            f"{row['seconds_per_iteration_with_preference']:>8.4f}"
        )
        for name in found:
            line += (
                f" {row[name + '_seconds_per_iteration']:>8.4f}"
                f" {row['ratio_cg_to_' + name]:>8.2f}x {row['ratio_fit_to_' + name]:>8.2f}x"
            )
        if bayes:
            line += f" {row['seconds_per_sweep_bayes']:>9.4f} {row['seconds_fit_bayes']:>9.1f}"
        lines.append(line + f" {row['peak_rss_mb']:>8.0f}")
    for lib in result["blas"]:
        lines.append(
            f"BLAS: {lib['internal_api']} {lib['version']}, kernel {lib['architecture']}, "
            f"{lib['threading_layer']} threading"
        )
    for key in ("search_ms", "recommend_ms"):
        if key in result:
            lines.append(f"{key}: p50 {result[key]['p50']:.3f}  p99 {result[key]['p99']:.3f}")
    return "\n".join([*notes, *lines])


def _engine_options(p: argparse.ArgumentParser) -> None:
    """--engine and the Spark engine's settings, for the commands that fit and report."""
    p.add_argument("--engine", choices=("numpy", "spark"), default="numpy", help="fit engine")
    p.add_argument("--spark-master", default=DEFAULT_MASTER, help="Spark master URL")
    p.add_argument("--spark-reg-param", type=float, default=REG_PARAM, help="Spark ALS regParam")
    p.add_argument(
        "--spark-implicit-reg-param",
        type=float,
        default=IMPLICIT_REG_PARAM,
        help="regParam of Spark's implicit ALS (the preference factors)",
    )


def cmd_bench_engines(args: argparse.Namespace) -> None:
    """Whole-fit time of the NumPy and the Spark engine on the same data."""
    from recommender.bench import engine_bench

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    rows = engine_bench(sizes, args.data_dir, args.repeats, args.spark_master)
    lines = [f"{'dataset':<10} {'ratings':>10} {'numpy s':>8} {'spark s':>8} {'spark/numpy':>11}"]
    for r in rows:
        lines.append(
            f"{r['dataset']:<10} {r['ratings']:>10} {r['numpy_seconds']:>8.2f} "
            f"{r['spark_seconds']:>8.2f} {r['spark_over_numpy']:>10.1f}x"
        )
    if rows:
        lines.append(f"spark session start-up {rows[0]['spark_startup_seconds']:.1f}s (once)")
    _emit(args, rows, "\n".join(lines))


def build_parser() -> argparse.ArgumentParser:
    """Argument parser shared by `python -m recommender` and the `movierec` script."""
    p = argparse.ArgumentParser(prog="python -m recommender", description=__doc__)
    p.add_argument("--dataset", default="ml-100k", help="MovieLens dataset (default ml-100k)")
    p.add_argument("--data-dir", type=Path, default=Path("data"), help="runtime data folder")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = p.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="the seed's two tables (default)")
    d.add_argument("-n", type=int, default=10)
    d.set_defaults(func=cmd_demo)
    e = sub.add_parser("evaluate", help="RMSE/MAE and precision/NDCG@10 on held-out folds")
    e.add_argument(
        "--folds",
        default=None,
        help="ml-100k folds such as u1,u2 or random5 (default: u1..u5 if present, else random5)",
    )
    e.add_argument(
        "--split",
        choices=("random5", "temporal"),
        default=None,
        help="random5: seeded random 5 folds; temporal: each user's latest 20%% of ratings",
    )
    e.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an ALSConfig or RankingConfig field, e.g. --set implicit_reg=1",
    )
    _engine_options(e)
    e.set_defaults(func=cmd_evaluate)
    g = sub.add_parser("evaluate-groups", help="group picks on sampled groups of test users")
    g.add_argument("--folds", default=None, help="as for evaluate")
    g.add_argument("--split", choices=("random5", "temporal"), default=None)
    g.add_argument("--groups", type=int, default=60, help="groups per size, kind and fold")
    g.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    g.set_defaults(func=cmd_evaluate_groups)
    r = sub.add_parser("recommend", help="top-N for a MovieLens user")
    r.add_argument("--user", type=int, required=True)
    r.add_argument("-n", type=int, default=10)
    r.set_defaults(func=cmd_recommend)
    s = sub.add_parser("similar", help="movies similar to a title")
    s.add_argument("query")
    s.add_argument("-n", type=int, default=10)
    s.set_defaults(func=cmd_similar)
    q = sub.add_parser("search", help="fuzzy title search")
    q.add_argument("query")
    q.add_argument("--limit", type=int, default=10)
    q.set_defaults(func=cmd_search)
    f = sub.add_parser("fit", help="fit on the whole dataset and write a snapshot")
    f.add_argument("--out", type=Path, default=None)
    _engine_options(f)
    f.set_defaults(func=cmd_fit)
    b = sub.add_parser("bench", help="ALS, search and recommend benchmarks")
    b.add_argument("--sizes", default="ml-100k,1M,10M")
    b.add_argument("--factors", default="64")
    b.add_argument("--iterations", type=int, default=3)
    b.add_argument(
        "--compare-implicit",
        action="store_true",
        help="also time the implicit package's ALS on the same matrices, if installed",
    )
    b.add_argument(
        "--compare-lenskit",
        action="store_true",
        help="also time LensKit's explicit ALS on the same matrices, if installed",
    )
    b.add_argument(
        "--model",
        choices=["als", "bayes"],
        default="als",
        help="bayes also times the Gibbs-sampled rating model (seconds per sweep, whole fit)",
    )
    b.add_argument("--no-latency", action="store_true", help="ALS timings only")
    b.add_argument("--threads", type=int, default=0, help="chunk threads (0 = one per core)")
    b.set_defaults(func=cmd_bench)
    be = sub.add_parser("bench-engines", help="whole-fit time of the NumPy and Spark engines")
    be.add_argument("--sizes", default="ml-100k,1M")
    be.add_argument("--repeats", type=int, default=3, help="fits per engine (median)")
    be.add_argument("--spark-master", default=DEFAULT_MASTER, help="Spark master URL")
    be.set_defaults(func=cmd_bench_engines)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, log to stderr, run one command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        args = build_parser().parse_args([*(argv or sys.argv[1:]), "demo"])
    try:
        args.func(args)
    except (ValueError, OSError, DatasetError, SparkUnavailable) as exc:
        log.error("%s", exc)
        return 2
    return 0
