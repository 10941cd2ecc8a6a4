"""Storage adapter: tables, migrations, and the log store (records, tiles, checkpoints)."""
