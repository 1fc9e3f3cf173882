-- Every dead letter once, by the position of the rejected message (topic, partition,
-- offset), with its original key and value bytes unchanged (String holds any bytes) --
-- except the value of rejected enrolments, which carries personal data: it is left
-- empty here and stays in Kafka's dead-letters topic, where replays read it from.
CREATE TABLE IF NOT EXISTS {database}.dead_letters
(
    dead_letter_id String,
    topic String,
    `partition` UInt32,
    `offset` UInt64,
    key Nullable(String),
    value String,
    error_type String,
    error String,
    failed_at DateTime('UTC'),
    updated_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (topic, `partition`, `offset`)
