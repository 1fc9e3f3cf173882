-- The `contributions` of the contract: each payment once, `reversed` = 1 once a reversal
-- of its payment_id has landed, whichever arrived first.
CREATE VIEW IF NOT EXISTS {database}.contributions AS
SELECT
    payment_id,
    member_id,
    months,
    amount,
    paid_at,
    channel,
    collecting_agent_id,
    toUInt8(payment_id IN (SELECT payment_id FROM {database}.contribution_reversals)) AS reversed
FROM {database}.contribution_payments FINAL
