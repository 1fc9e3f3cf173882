-- Payments and reversals land in two tables, each once per payment_id, and the
-- `contributions` view (0008) joins them. A reversal carries none of the payment's columns
-- and may arrive before the payment (different partitions, held events, replays), so
-- folding it into the payment's row would need the payment first; kept apart, each side is
-- idempotent on its own and `reversed` is correct in any arrival order.
-- keep_first = 2^40 - Kafka offset: a repeated payment_id keeps its first delivery, the one
-- the worker applied (one member's messages share a partition, so offsets compare).
CREATE TABLE IF NOT EXISTS {database}.contribution_payments
(
    payment_id String,
    member_id String,
    months UInt8,
    amount UInt64,
    paid_at DateTime('UTC'),
    channel String,
    collecting_agent_id String,
    event_id String,
    source String,
    keep_first UInt64
)
ENGINE = ReplacingMergeTree(keep_first)
ORDER BY payment_id
;
CREATE TABLE IF NOT EXISTS {database}.contribution_reversals
(
    payment_id String,
    member_id String,
    reason String,
    reversed_at DateTime('UTC'),
    event_id String,
    keep_first UInt64
)
ENGINE = ReplacingMergeTree(keep_first)
ORDER BY payment_id
