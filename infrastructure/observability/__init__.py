"""What an operator sees from outside: Prometheus metrics, OpenTelemetry traces, JSON logs and Sentry.

Each is off or quiet by default and switched on by the environment (config/observability_settings.py):
`METRICS_TOKEN` / `METRICS_PORT`, the standard `OTEL_*` variables, `LOG_FORMAT=json`, `SENTRY_DSN`.
"""
