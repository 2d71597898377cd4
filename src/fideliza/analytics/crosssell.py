"""Cross-sell: what each customer buys and lacks, association rules, next best product,
relationship paths.

Seed 002 §3.2 "Armá tu matriz de venta cruzada (Crosseling) para determinar qué está
consumiendo y qué le falta comprar cada uno de tus clientes", §2.5.4 "Cuantos más
productos tiene un cliente más permanece", and §1.6 "Diseñar los senderos de relación:
producto oferta o entrada, producto de valor, producto principal, producto Premium".

Association rules (pairs ``X -> Y``) over baskets (orders, or customers' whole histories)
    ``n`` = baskets, ``count(X)`` = baskets containing X, ``count(X, Y)`` = baskets with
    both. ``support = count(X, Y) / n``; ``confidence = count(X, Y) / count(X)`` (share of
    X-baskets that also hold Y); ``lift = confidence / (count(Y) / n)`` (how many times
    more likely Y is with X than at random; > 1 means they go together). Computed as the
    sparse product ``Bᵀ B`` of the basket × item incidence matrix, after dropping items
    below ``min_support`` (a pair cannot be more frequent than either item).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from fideliza.analytics.labels import NEXT_BEST_REASONS
from fideliza.analytics.metrics import (
    Frame,
    as_lazy,
    column_names,
    customer_codes,
    purchase_date,
)

PATH_LEVELS: tuple[str, ...] = ("entry", "value", "main", "premium")


def customer_item_matrix(
    transactions: Frame,
    *,
    item_col: str = "category",
    value: Literal["amount", "count", "flag"] = "amount",
    customer_col: str = "customer_id",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """The cross-sell matrix: one row per customer, one column per item.

    Cells hold the amount spent on the item (``value="amount"``, Float64), the number of
    transaction lines (``"count"``) or 1/0 (``"flag"``); 0 where the customer never bought
    it. ``items_bought`` = number of distinct items. Item columns are the item values as
    strings, sorted; rows are sorted by customer.
    """
    lf = as_lazy(transactions)
    if value not in ("amount", "count", "flag"):
        raise ValueError("value must be 'amount', 'count' or 'flag'")
    present = lf.filter(pl.col(item_col).is_not_null()).with_columns(
        pl.col(item_col).cast(pl.String).alias("_item")
    )
    codes, coded = customer_codes(present, customer_col)
    items = present.select(pl.col("_item").unique().sort()).collect().with_row_index("_i")
    keep = [pl.col("_c"), pl.col("_i")]
    if value == "amount":
        keep.append(pl.col(amount_col).cast(pl.Float64))
    rows = coded.join(items.lazy(), on="_item", how="inner").select(keep).collect()
    n_c, n_i = codes.height, items.height
    cell = rows["_c"].to_numpy() * n_i + rows["_i"].to_numpy().astype(np.int64)
    counts = np.bincount(cell, minlength=n_c * n_i).reshape(n_c, n_i)
    if value == "amount":
        cells = np.bincount(cell, weights=rows[amount_col].to_numpy(), minlength=n_c * n_i).reshape(
            n_c, n_i
        )
    elif value == "count":
        cells = counts.astype(np.float64)
    else:
        cells = (counts > 0).astype(np.float64)
    names = items["_item"].to_list()
    return (
        codes.select(customer_col)
        .with_columns(
            *(pl.Series(name, cells[:, j]) for j, name in enumerate(names)),
            items_bought=pl.Series((counts > 0).sum(axis=1).astype(np.int64)),
        )
        .sort(customer_col)
    )


def item_gaps(
    transactions: Frame,
    *,
    item_col: str = "category",
    items: Sequence[str] | None = None,
    customer_col: str = "customer_id",
) -> pl.DataFrame:
    """What each customer has bought and what they lack, as sorted lists.

    ``items`` is the catalogue to compare against (default: every item someone bought).
    Returns ``customer_id, bought, missing, items_bought, items_missing``.
    """
    lf = as_lazy(transactions)
    bought = (
        lf.filter(pl.col(item_col).is_not_null())
        .group_by(customer_col)
        .agg(bought=pl.col(item_col).cast(pl.String).unique().sort())
        .collect()
    )
    catalogue = (
        sorted(str(i) for i in items)
        if items is not None
        else sorted(bought["bought"].explode().unique().drop_nulls().to_list())
    )
    return (
        bought.with_columns(
            missing=pl.lit(pl.Series([catalogue], dtype=pl.List(pl.String))).list.set_difference(
                pl.col("bought")
            )
        )
        .with_columns(
            missing=pl.col("missing").list.sort(),
            items_bought=pl.col("bought").list.len().cast(pl.Int64),
        )
        .with_columns(items_missing=pl.col("missing").list.len().cast(pl.Int64))
        .sort(customer_col)
    )


def _baskets(
    lf: pl.LazyFrame,
    level: str,
    item_col: str,
    customer_col: str,
    ts_col: str,
    order_col: str | None,
) -> pl.LazyFrame:
    cols = column_names(lf)
    if level == "customer":
        key: list[pl.Expr] = [pl.col(customer_col)]
    elif level == "order":
        if order_col is not None and order_col in cols:
            key = [pl.col(order_col)]
        else:
            key = [pl.col(customer_col), purchase_date(ts_col)]
    else:
        raise ValueError("level must be 'order' or 'customer'")
    names = [f"_k{i}" for i in range(len(key))]
    pairs = (
        lf.filter(pl.col(item_col).is_not_null())
        .select(
            *(k.alias(n) for k, n in zip(key, names, strict=True)), pl.col(item_col).alias("_item")
        )
        .unique()
    )
    # Dense basket numbers through a hash join (cheaper than ranking composite keys).
    baskets = pairs.select(names).unique().with_row_index("_basket")
    return pairs.join(baskets, on=names, how="inner").select(
        pl.col("_basket").cast(pl.Int64), "_item"
    )


def association_rules(
    transactions: Frame,
    *,
    item_col: str = "category",
    level: Literal["order", "customer"] = "order",
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """Pairwise association rules ``antecedent -> consequent`` (module docstring).

    Parameters
    ----------
    level
        ``"order"``: a basket is an order (``order_col``; without it, a customer's
        purchases on one day); ``"customer"``: everything a customer ever bought.
    min_support, min_confidence, min_lift
        Rules below any of them are dropped.

    Returns
    -------
    pl.DataFrame
        ``antecedent, consequent, baskets`` (count of both), ``support, confidence, lift,
        antecedent_support, consequent_support`` sorted by lift, confidence descending.
    """
    lf = as_lazy(transactions)
    pairs = _baskets(lf, level, item_col, customer_col, ts_col, order_col).collect()
    top = pairs["_basket"].max()
    n = int(top) + 1 if isinstance(top, int) else 0  # None: no pairs
    item_dtype = lf.collect_schema()[item_col]
    empty = pl.DataFrame(
        schema={
            "antecedent": item_dtype,
            "consequent": item_dtype,
            "baskets": pl.Int64,
            "support": pl.Float64,
            "confidence": pl.Float64,
            "lift": pl.Float64,
            "antecedent_support": pl.Float64,
            "consequent_support": pl.Float64,
        }
    )
    if n == 0:
        return empty
    item_counts = pairs.group_by("_item").agg(_n=pl.len().cast(pl.Int64))
    frequent = item_counts.filter(pl.col("_n") >= min_support * n).sort("_item")
    if frequent.height < 2:
        return empty
    frequent = frequent.with_row_index("_i")
    kept = pairs.join(frequent.select("_item", "_i"), on="_item", how="inner")
    rows = kept["_basket"].to_numpy()
    cols_ = kept["_i"].to_numpy().astype(np.int64)
    n_items = frequent.height
    incidence = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.int32), (rows, cols_)),
        shape=(n, n_items),
    )
    co = (incidence.T @ incidence).tocoo()
    off_diag = co.row != co.col
    a_idx, c_idx, both = co.row[off_diag], co.col[off_diag], co.data[off_diag].astype(np.int64)
    counts = frequent["_n"].to_numpy()
    support = both / n
    confidence = both / counts[a_idx]
    consequent_support = counts[c_idx] / n
    lift = confidence / consequent_support
    keep = (support >= min_support) & (confidence >= min_confidence) & (lift >= min_lift)
    names = frequent["_item"]
    return pl.DataFrame(
        {
            "antecedent": names.gather(a_idx[keep]),
            "consequent": names.gather(c_idx[keep]),
            "baskets": both[keep],
            "support": support[keep],
            "confidence": confidence[keep],
            "lift": lift[keep],
            "antecedent_support": counts[a_idx[keep]] / n,
            "consequent_support": consequent_support[keep],
        }
    ).sort(
        ["lift", "confidence", "antecedent", "consequent"],
        descending=[True, True, False, False],
    )


def _reason_rule(lang: str) -> str:
    return NEXT_BEST_REASONS["rule"].get(lang, NEXT_BEST_REASONS["rule"]["es"])


def _reason_popular(lang: str) -> str:
    return NEXT_BEST_REASONS["popular"].get(lang, NEXT_BEST_REASONS["popular"]["es"])


def next_best_offer(
    transactions: Frame,
    *,
    rules: pl.DataFrame | None = None,
    item_col: str = "category",
    level: Literal["order", "customer"] = "customer",
    min_support: float = 0.01,
    min_lift: float = 1.0,
    rules_per_item: int = 20,
    lang: str = "es",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """The next best item for every customer, with the reason as text.

    Candidates are the consequents of rules (``lift > min_lift``, the ``rules_per_item``
    strongest per antecedent) whose antecedent the customer bought and whose consequent
    they have not. The best is the highest lift, then confidence, then the item name.
    Customers with no candidate get the most popular item (by distinct customers) they lack
    (``source = "popular"``). ``rules`` defaults to :func:`association_rules` at ``level``.

    Returns
    -------
    pl.DataFrame
        ``customer_id, item`` (null if they already bought everything), ``source``
        ("rule"/"popular"), ``antecedent, confidence, lift`` (rules only) and ``reason``
        (Spanish by default; ``lang="en"`` for English). Sorted by customer.
    """
    lf = as_lazy(transactions)
    if rules is None:
        rules = association_rules(
            lf,
            item_col=item_col,
            level=level,
            min_support=min_support,
            customer_col=customer_col,
            ts_col=ts_col,
            order_col=order_col,
        )
    owned = (
        lf.filter(pl.col(item_col).is_not_null())
        .select(customer_col, pl.col(item_col).alias("_item"))
        .unique()
        .collect()
    )
    customers = owned.select(customer_col).unique().sort(customer_col).with_row_index("_c")
    items = owned.select("_item").unique().sort("_item").with_row_index("_i")
    coded = owned.join(customers, on=customer_col).join(items, on="_item")
    n_c, n_i = customers.height, items.height
    # Customer × item incidence, by column: the customers owning item j, sorted.
    incidence = sp.csc_matrix(
        (
            np.ones(coded.height, dtype=np.int8),
            (coded["_c"].to_numpy().astype(np.int64), coded["_i"].to_numpy().astype(np.int64)),
        ),
        shape=(n_c, n_i),
    )
    incidence.sum_duplicates()
    incidence.sort_indices()
    indptr, indices = incidence.indptr, incidence.indices

    def owners(j: int) -> np.ndarray:
        return indices[indptr[j] : indptr[j + 1]]

    def owns(j: int, cand: np.ndarray) -> np.ndarray:
        col = owners(j)
        if col.size == 0:
            return np.zeros(cand.size, dtype=bool)
        pos = np.minimum(np.searchsorted(col, cand), col.size - 1)
        return col[pos] == cand

    strong = (
        rules.filter(pl.col("lift") > min_lift)
        .sort(["lift", "confidence", "consequent"], descending=[True, True, False])
        .group_by("antecedent", maintain_order=True)
        .head(rules_per_item)
        .sort(
            ["lift", "confidence", "consequent", "antecedent"],
            descending=[True, True, False, False],
        )
        .join(items.rename({"_item": "antecedent", "_i": "_a"}), on="antecedent", how="inner")
        .join(items.rename({"_item": "consequent", "_i": "_k"}), on="consequent", how="inner")
        .sort(
            ["lift", "confidence", "consequent", "antecedent"],
            descending=[True, True, False, False],
        )
        .with_row_index("_r")
    )
    choice = np.full(n_c, -1, dtype=np.int64)
    via_rule = np.full(n_c, -1, dtype=np.int64)
    unassigned = np.ones(n_c, dtype=bool)
    remaining = n_c
    # Strongest rule first: a customer takes the first rule whose antecedent they own and
    # whose consequent they lack. A loop over rules (and then items), never over customers.
    for r, ant, con in strong.select("_r", "_a", "_k").iter_rows():
        if remaining == 0:
            break
        cand = owners(ant)
        cand = cand[unassigned[cand]]
        if cand.size == 0:
            continue
        cand = cand[~owns(con, cand)]
        choice[cand], via_rule[cand], unassigned[cand] = con, r, False
        remaining -= cand.size
    popularity = np.diff(indptr)
    for j in np.lexsort((np.arange(n_i), -popularity)):
        if remaining == 0:
            break
        cand = np.flatnonzero(unassigned)
        cand = cand[~owns(int(j), cand)]
        choice[cand], unassigned[cand] = j, False
        remaining -= cand.size
    template = _reason_rule(lang)
    rule_info = strong.select(
        "_r",
        "antecedent",
        "confidence",
        "lift",
        reason_rule=pl.Series(
            [
                template.format(antecedent=a, consequent=c, confidence=conf, lift=lift)
                for a, c, conf, lift in strong.select(
                    "antecedent", "consequent", "confidence", "lift"
                ).iter_rows()
            ],
            dtype=pl.String,
        ),
    )
    popular_reason = _reason_popular(lang)
    item_info = items.with_columns(
        reason_popular=pl.Series(
            [popular_reason.format(consequent=i) for i in items["_item"].to_list()],
            dtype=pl.String,
        )
    )
    return (
        customers.with_columns(_i=pl.Series(choice), _r=pl.Series(via_rule))
        .with_columns(
            _i=pl.when(pl.col("_i") >= 0).then(pl.col("_i")).cast(pl.UInt32),
            _r=pl.when(pl.col("_r") >= 0).then(pl.col("_r")).cast(pl.UInt32),
        )
        .join(item_info, on="_i", how="left")
        .join(rule_info, on="_r", how="left")
        .with_columns(
            source=pl.when(pl.col("_r").is_not_null())
            .then(pl.lit("rule"))
            .when(pl.col("_i").is_not_null())
            .then(pl.lit("popular")),
            reason=pl.coalesce("reason_rule", "reason_popular"),
        )
        .select(
            customer_col,
            pl.col("_item").alias("item"),
            "source",
            "antecedent",
            "confidence",
            "lift",
            "reason",
        )
        .sort(customer_col)
    )


def relationship_path(
    transactions: Frame,
    *,
    product_levels: Mapping[object, str] | pl.DataFrame,
    levels: Sequence[str] = PATH_LEVELS,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
) -> pl.DataFrame:
    """Each customer's step on the relationship path and the suggested next one.

    Parameters
    ----------
    product_levels
        Product -> path level (``entry``, ``value``, ``main``, ``premium``), as a mapping or
        a frame with ``product_col`` and ``level`` columns. Unmapped products are ignored.
    levels
        The path, lowest first.

    Returns
    -------
    pl.DataFrame
        ``customer_id, current_level`` (highest level bought; null if none),
        ``current_step`` (1-based, 0 if none), ``levels_bought`` (list, in path order),
        ``skipped`` (levels below the current one never bought), ``next_level`` (the level
        after the current one; null at the top) and ``suggested_product`` (the product of
        ``next_level`` bought by most customers; ties by product). Sorted by customer.
    """
    lf = as_lazy(transactions)
    step_of = {lvl: i + 1 for i, lvl in enumerate(levels)}
    product_dtype = lf.collect_schema()[product_col]
    if isinstance(product_levels, pl.DataFrame):
        mapping = product_levels.select(
            pl.col(product_col).cast(product_dtype), pl.col("level").cast(pl.String)
        )
    else:
        mapping = pl.DataFrame(
            {
                product_col: pl.Series(list(product_levels.keys())).cast(product_dtype),
                "level": [str(v) for v in product_levels.values()],
            }
        )
    unknown = set(mapping["level"].unique().to_list()) - set(step_of)
    if unknown:
        raise ValueError(f"unknown path levels {sorted(unknown)}")
    mapping = mapping.with_columns(
        _step=pl.col("level").replace_strict(step_of, return_dtype=pl.Int64)
    )
    n_levels = len(levels)
    if n_levels > 16:
        raise ValueError("a relationship path has at most 16 levels")
    mapping = mapping.unique(product_col, keep="first").with_columns(
        _bit=pl.lit(1, dtype=pl.Int64) * (2 ** (pl.col("_step") - 1)).cast(pl.Int64)
    )
    # Levels bought as a bit mask per customer (one OR-aggregation, no per-customer lists);
    # everything else is read from a table over the 2**levels possible masks.
    mapped = lf.select(customer_col, product_col).join(mapping.lazy(), on=product_col, how="inner")
    masks = mapped.group_by(customer_col).agg(_mask=pl.col("_bit").bitwise_or())
    popular = (
        mapped.group_by("_step", product_col)
        .agg(_n=pl.col(customer_col).n_unique())
        .sort(["_step", "_n", product_col], descending=[False, True, False])
        .unique("_step", keep="first", maintain_order=True)
        .select(pl.col("_step").alias("_next"), pl.col(product_col).alias("suggested_product"))
        .collect()
    )
    table = []
    for mask in range(2**n_levels):
        steps = [i + 1 for i in range(n_levels) if mask >> i & 1]
        current = max(steps, default=0)
        table.append(
            {
                "_mask": mask,
                "current_step": current,
                "current_level": levels[current - 1] if current else None,
                "levels_bought": [levels[i - 1] for i in steps],
                "skipped": [levels[i - 1] for i in range(1, current) if i not in steps],
                "_next": current + 1 if current < n_levels else None,
                "next_level": levels[current] if current < n_levels else None,
            }
        )
    paths = pl.DataFrame(
        table,
        schema={
            "_mask": pl.Int64,
            "current_step": pl.Int64,
            "current_level": pl.String,
            "levels_bought": pl.List(pl.String),
            "skipped": pl.List(pl.String),
            "_next": pl.Int64,
            "next_level": pl.String,
        },
    ).join(popular, on="_next", how="left")
    return (
        lf.select(pl.col(customer_col).unique())
        .join(masks, on=customer_col, how="left")
        .with_columns(pl.col("_mask").fill_null(0))
        .collect()
        .join(paths, on="_mask", how="left")
        .select(
            customer_col,
            "current_level",
            pl.col("current_step").cast(pl.Int64),
            "levels_bought",
            "skipped",
            "next_level",
            "suggested_product",
        )
        .sort(customer_col)
    )
