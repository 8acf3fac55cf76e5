"""What the reports count, in one place: which event types make each measure, and the normalised event
frame (snake_case columns) that both the streaming job (from Kafka) and the batch reports (from the
Cassandra event tables) work on."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# The provider or the pipeline gave up on the delivery.
FAILED = ("failed", "rejected", "undelivered", "bounced")
# The user acknowledged the message: any engagement a client reports through the ack stage.
ACKED = ("opened", "clicked", "read", "dismissed")
# Opened: the notification was opened, or the thread read up to the message.
OPENED = ("opened", "read")
# A recipient: the message was attempted for this user (or, for a holdout, the user took part at all).
RECIPIENT = ("queued", "sent", "delivered", "failed", "rejected", "undelivered", "bounced", "dropped", "expired",
             "throttled", "escalated", "opened", "clicked", "read", "dismissed", "converted")

COLUMNS = ("event_id", "type", "at", "message_id", "uid", "tid", "channel", "urgency", "experiment_id", "variant")


def from_record(decoded: DataFrame, alias: str = "record") -> DataFrame:
    """The normalised frame from decoded DeliveryEvent structs (camelCase Avro fields)."""
    r = F.col(alias)
    return decoded.select(
        r.eventId.alias("event_id"),
        r.type.cast("string").alias("type"),
        r.at.cast("timestamp").alias("at"),
        r.messageId.alias("message_id"),
        r.uid.alias("uid"),
        r.tid.alias("tid"),
        r.channel.cast("string").alias("channel"),
        r.urgency.alias("urgency"),
        r.experimentId.alias("experiment_id"),
        r.variant.alias("variant"),
    )


def is_type(*types: str) -> Column:
    return F.col("type").isin(*types)


def counted(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0)).cast("long")


def with_dimensions(events: DataFrame) -> DataFrame:
    """Key columns cannot be null in Cassandra: a missing dimension is '' (text) or 0 (urgency)."""
    return (
        events.withColumn("minute", F.date_trunc("minute", "at"))
        .withColumn("channel", F.coalesce("channel", F.lit("")))
        .withColumn("urgency", F.coalesce("urgency", F.lit(0)))
        .withColumn("tid", F.coalesce("tid", F.lit("")))
        .withColumn("experiment_id", F.coalesce("experiment_id", F.lit("")))
        .withColumn("variant", F.coalesce("variant", F.lit("")))
    )
