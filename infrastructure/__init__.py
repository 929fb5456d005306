"""What the apps run on: outbound HTTP, storage, the shared cache, brokers, PostgreSQL, logging and
metrics."""
