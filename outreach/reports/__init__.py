"""Reports: read-outs over outreach's tables, as plain values; they change no card's rule.

* `queue_facts`: what the stop conditions and preflight look at, queue traces
  (`trace_queue`) and queue hygiene (`cleanup_queue`).
* `daily`: one operating day's activity, for ramp's daily report and the index.
* `tuning`: the weekly report by template version of each step.
* `replay`: the deterministic replay harness over recorded cases.

The KPI arithmetic and thresholds live in `ramp.kpis` and
`ramp.stop_conditions`; these modules only count. Read next: `ramp.report`.
"""
