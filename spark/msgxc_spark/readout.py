"""The experiment read-out: per variant of each experiment, recipients, delivered, acked, opened,
clicked and converted users, conversion and click rates with intervals, lift against control and
p-values (fixed-horizon and always-valid), and the holdout when the experiment has one.

Counting is per user: a recipient is a user with any event of the message in that variant; a user
counts once per measure however many messages or events they had. The holdout arm is the events that
carry the experiment id but no variant (the fanout assigns none to users outside the weights, who
receive no message of the experiment; their conversions still arrive as `converted` events), or a
variant literally named `holdout`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import stats
from .events import ACKED, OPENED, RECIPIENT, is_type

HOLDOUT = "holdout"
MEASURES = ("recipient", "delivered", "acked", "opened", "clicked", "converted")


@dataclass
class VariantReadout:
    experiment_id: str
    variant: str
    role: str
    recipients: int
    delivered: int
    acked: int
    opened: int
    clicked: int
    converted: int
    conversion_rate: float
    conversion_low: float
    conversion_high: float
    click_rate: float
    click_low: float
    click_high: float
    lift: float | None
    diff_low: float | None
    diff_high: float | None
    p_fixed: float | None
    p_always_valid: float | None

    def row(self) -> dict:
        return asdict(self)


def first_days(events: DataFrame) -> DataFrame:
    """One row per (experiment, arm, user): the UTC day each measure first happened, null if never."""
    arm = F.when(F.col("variant").isNull() | (F.col("variant") == HOLDOUT), F.lit(HOLDOUT)).otherwise(F.col("variant"))
    day = F.to_date("at")
    first = lambda condition: F.min(F.when(condition, day))  # noqa: E731
    return (
        events.where(F.col("experiment_id").isNotNull() & F.col("uid").isNotNull())
        .withColumn("arm", arm)
        .groupBy("experiment_id", "arm", "uid")
        .agg(
            first(is_type(*RECIPIENT)).alias("recipient"),
            first(is_type("delivered")).alias("delivered"),
            first(is_type(*ACKED)).alias("acked"),
            first(is_type(*OPENED)).alias("opened"),
            first(is_type("clicked")).alias("clicked"),
            first(is_type("converted")).alias("converted"),
        )
        .where(F.col("recipient").isNotNull())
    )


def daily_counts(events: DataFrame) -> list[dict]:
    """New users per (experiment, arm, day, measure): small enough to finish on the driver."""
    per_user = first_days(events)
    stacked = per_user.select(
        "experiment_id",
        "arm",
        F.explode(F.array(*[F.struct(F.lit(m).alias("measure"), F.col(m).alias("day")) for m in MEASURES])).alias("m"),
    ).where(F.col("m.day").isNotNull())
    rows = stacked.groupBy("experiment_id", "arm", "m.measure", "m.day").agg(F.count("*").alias("users")).collect()
    return [row.asDict() for row in rows]


def readout(counts: list[dict], tau: float) -> list[VariantReadout]:
    by_experiment: dict[str, dict[str, dict[str, dict]]] = {}
    for row in counts:
        arms = by_experiment.setdefault(row["experiment_id"], {})
        measures = arms.setdefault(row["arm"], {m: {} for m in MEASURES})
        measures[row["measure"]][row["day"]] = measures[row["measure"]].get(row["day"], 0) + row["users"]
    result: list[VariantReadout] = []
    for experiment_id in sorted(by_experiment):
        result.extend(_experiment(experiment_id, by_experiment[experiment_id], tau))
    return result


def _experiment(experiment_id: str, arms: dict, tau: float) -> list[VariantReadout]:
    days = sorted({day for measures in arms.values() for per_day in measures.values() for day in per_day})
    cumulative = {arm: {m: _cumulate(arms[arm][m], days) for m in MEASURES} for arm in arms}
    treated_arms = sorted(arm for arm in arms if arm != HOLDOUT)
    control = "control" if "control" in arms else (treated_arms[0] if treated_arms else None)
    rows = []
    for arm in treated_arms + ([HOLDOUT] if HOLDOUT in arms else []):
        role = "control" if arm == control else HOLDOUT if arm == HOLDOUT else "variant"
        total = {m: cumulative[arm][m][-1] for m in MEASURES}
        n, converted, clicked = total["recipient"], total["converted"], total["clicked"]
        comparison = None
        if control is not None and arm != control:
            # The holdout row compares control against the holdout: what messaging at all adds.
            treated, baseline = (control, HOLDOUT) if arm == HOLDOUT else (arm, control)
            looks = [
                (cumulative[treated]["converted"][i], cumulative[treated]["recipient"][i],
                 cumulative[baseline]["converted"][i], cumulative[baseline]["recipient"][i])
                for i in range(len(days))
            ]
            comparison = stats.compare(looks[-1][0:2], looks[-1][2:4], looks, tau)
        rate = lambda x: x / n if n else 0.0  # noqa: E731
        conversion_low, conversion_high = stats.wilson(converted, n)
        click_low, click_high = stats.wilson(clicked, n)
        rows.append(
            VariantReadout(
                experiment_id, arm, role, n, total["delivered"], total["acked"], total["opened"], clicked, converted,
                rate(converted), conversion_low, conversion_high, rate(clicked), click_low, click_high,
                comparison.lift if comparison else None,
                comparison.diff_low if comparison else None,
                comparison.diff_high if comparison else None,
                comparison.p_fixed if comparison else None,
                comparison.p_always_valid if comparison else None,
            )
        )
    return rows


def _cumulate(per_day: dict, days: list) -> list[int]:
    total, series = 0, []
    for day in days:
        total += per_day.get(day, 0)
        series.append(total)
    return series
