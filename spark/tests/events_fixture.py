"""A known set of DeliveryEvents and the roll-ups they must produce, worked out by hand."""

from __future__ import annotations

import datetime as dt

from msgxc_spark.sketch import bucket_of

T0 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone.utc)
M0 = T0
M1 = T0 + dt.timedelta(minutes=1)

FIELDS = ("messageId", "requestId", "deliveryId", "uid", "tid", "channel", "deviceId", "urgency", "experimentId",
          "variant", "reason", "detail", "providerMessageId", "attempt", "source", "trace")
NEW_FIELDS = ("provider", "providerCode", "latencyMs", "segments")


def event(event_id: str, type_: str, ms: int, *, new_schema: bool = True, **fields) -> dict:
    record = {name: None for name in FIELDS + (NEW_FIELDS if new_schema else ())}
    record.update(eventId=event_id, type=type_, at=int(T0.timestamp() * 1000) + ms)
    record.update(fields)
    return record


def m1(event_id, type_, ms, uid=None, variant="control", channel="ws", **extra):
    return event(event_id, type_, ms, messageId="m1", uid=uid, tid="t1", channel=channel, urgency=3,
                 experimentId="e1", variant=variant, **extra)


def m2(event_id, type_, ms, uid=None, **extra):
    return event(event_id, type_, ms, messageId="m2", uid=uid, tid="t2", channel="apns", urgency=4, **extra)


# (record, written with the older schema version?)
FIRST = [
    (m1("q1", "queued", 0, new_schema=False), True),
    (m1("q2", "queued", 0, variant="b", new_schema=False), True),
    (m1("s1", "sent", 100, "u1", new_schema=False), True),
    (m1("s2", "sent", 100, "u2", variant="b"), False),
    (m1("d1", "delivered", 250, "u1"), False),            # 250 ms after m1 was queued
    (m1("d2", "delivered", 2_000, "u2", variant="b"), False),
    (m1("o1", "opened", 5_000, "u1"), False),             # 4750 ms after u1's copy was delivered
    (m1("c1", "clicked", 70_000, "u1"), False),           # minute 10:01, 69750 ms after delivery
    (m1("r2", "read", 90_000, "u2", variant="b"), False),  # minute 10:01, 88000 ms after delivery
    (m1("f3", "failed", 30_000, "u3", channel="sms"), False),
    (m2("q3", "queued", 10_000), False),
    (m2("s4", "sent", 10_500, "u4", provider="apns", latencyMs=40), False),
    (m2("x5", "rejected", 11_000, "u5", provider="apns", providerCode="BadDeviceToken"), False),
    (m2("d4", "delivered", 12_000, "u4"), False),         # 2000 ms after m2 was queued
    (m2("s4", "sent", 10_500, "u4", provider="apns", latencyMs=40), False),  # a producer's repeat
]

ZERO = {"sent": 0, "delivered": 0, "failed": 0, "acked": 0, "read": 0, "clicked": 0,
        "delivery_latency": None, "ack_latency": None}


def row(**values) -> dict:
    return {**ZERO, **values}


EXPECTED_FIRST = {
    (M0, "ws", 3, "t1", "e1", "control"): row(sent=1, delivered=1, acked=1, delivery_latency={bucket_of(250): 1},
                                              ack_latency={bucket_of(4750): 1}),
    (M0, "ws", 3, "t1", "e1", "b"): row(sent=1, delivered=1, delivery_latency={bucket_of(2000): 1}),
    (M0, "sms", 3, "t1", "e1", "control"): row(failed=1),
    (M0, "apns", 4, "t2", "", ""): row(sent=1, delivered=1, failed=1, delivery_latency={bucket_of(2000): 1}),
    (M1, "ws", 3, "t1", "e1", "control"): row(acked=1, clicked=1, ack_latency={bucket_of(69_750): 1}),
    (M1, "ws", 3, "t1", "e1", "b"): row(acked=1, read=1, ack_latency={bucket_of(88_000): 1}),
}

# Sent while the job runs, then repeated after it is killed: the repeats must not count.
SECOND = [
    (m2("d5", "delivered", 13_000, "u6"), False),          # 3000 ms after m2 was queued
    (m2("o4", "opened", 20_000, "u4"), False),             # 8000 ms after u4's delivery
    (m1("c2", "clicked", 95_000, "u2", variant="b"), False),  # minute 10:01, 93000 ms after delivery
]

EXPECTED_AFTER_SECOND = {
    **EXPECTED_FIRST,
    (M0, "apns", 4, "t2", "", ""): row(sent=1, delivered=2, failed=1, acked=1,
                                       delivery_latency={bucket_of(2000): 1, bucket_of(3000): 1},
                                       ack_latency={bucket_of(8000): 1}),
    (M1, "ws", 3, "t1", "e1", "b"): row(acked=2, read=1, clicked=1,
                                        ack_latency={bucket_of(88_000): 1, bucket_of(93_000): 1}),
}
