"""What dashboard and alerting teams load: Grafana dashboards, alert rules and provisioning
for the ClickHouse views, built as code (`grafana-foundation-sdk`) and written under
`deploy/grafana/` by `jamsos grafana`."""
