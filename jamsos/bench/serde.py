"""Encode/decode throughput of the Confluent Avro serde, fastavro against the `avro` package.

Both libraries run in the same process on the same records, so their ratio holds even on
a noisy machine; the registry is only asked once per schema (the serde caches ids).
"""

from __future__ import annotations

import io
import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import avro.io
import avro.schema

from jamsos.contracts.serde import HEADER, AvroSerde


@dataclass(frozen=True)
class SerdeFigures:
    records: int
    encode_per_s: float
    decode_per_s: float
    avro_encode_per_s: float
    avro_decode_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "fastavro_encode_per_s": round(self.encode_per_s),
            "fastavro_decode_per_s": round(self.decode_per_s),
            "avro_encode_per_s": round(self.avro_encode_per_s),
            "avro_decode_per_s": round(self.avro_decode_per_s),
            "decode_speedup": round(self.decode_per_s / self.avro_decode_per_s, 1),
        }


def payments(count: int) -> list[dict[str, Any]]:
    start = datetime(2019, 1, 1, tzinfo=UTC)
    return [
        {
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "source": "bank:BNI",
            "occurred_at": start + timedelta(seconds=i),
            "payment_id": f"PAY-{i}",
            "member_id": f"M{i % 100_000:09d}",
            "months": 1 + i % 12,
            "amount": 36_800,
            "channel": "bank",
            "collecting_agent_id": None,
        }
        for i in range(count)
    ]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def measure_serde(serde: AvroSerde, count: int = 100_000, runs: int = 3) -> SerdeFigures:
    """Median records/s of `runs` rounds over `count` ContributionPaid records."""
    records = payments(count)
    schema = avro.schema.parse(serde.catalog.get("ContributionPaid").schema_str)
    writer, reader = avro.io.DatumWriter(schema), avro.io.DatumReader(schema, schema)
    small = records[: max(1, count // 10)]  # the avro package is slow: a tenth suffices
    enc, dec, aenc, adec = [], [], [], []
    for _ in range(runs):
        began = time.perf_counter()
        encoded = [serde.encode("contributions", "ContributionPaid", r) for r in records]
        enc.append(_rate(count, time.perf_counter() - began))
        began = time.perf_counter()
        for data in encoded:
            serde.decode(data, "contributions")
        dec.append(_rate(count, time.perf_counter() - began))
        began = time.perf_counter()
        bodies = []
        for record in small:
            out = io.BytesIO()
            writer.write(record, avro.io.BinaryEncoder(out))
            bodies.append(out.getvalue())
        aenc.append(_rate(len(small), time.perf_counter() - began))
        began = time.perf_counter()
        for body in bodies:
            reader.read(avro.io.BinaryDecoder(io.BytesIO(body)))
        adec.append(_rate(len(small), time.perf_counter() - began))
    assert encoded[0][: HEADER.size][0] == 0
    return SerdeFigures(
        count,
        statistics.median(enc),
        statistics.median(dec),
        statistics.median(aenc),
        statistics.median(adec),
    )


def to_json(figures: SerdeFigures) -> str:
    return json.dumps(figures.as_dict())
