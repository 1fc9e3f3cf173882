"""The ClickHouse side of jamsos: DDL migrations, clients, and record-to-row mapping."""
