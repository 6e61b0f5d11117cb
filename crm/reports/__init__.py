"""Manager reports: every figure is an SQL aggregate; no lead is loaded into Python.

The definitions are in the docstring of the module that computes each figure (and on the page):
- filters: the report's filter and the cohort it selects (ReportFilter, parsing, conditions);
- pipeline: funnel (current, reached, conversion, win rate), lost reasons, sources, campaigns;
- agents: per current owner; speed: response times, SLA compliance, stale leads;
- days_in_stage: median stays; trend: the monthly trend;
- demand: unmet and property demand, by the matching engine's hard rules (hard_rules);
- api: the API's payload; tables and charts: the page's and the exports' shapes;
- rollups, buckets, histogram, sql: the reads and SQL pieces the reports share.

How the figures are read (issue 6: the page at 1,000,000 leads under a second, memory flat).
Nothing is counted per report over the leads: the facts are kept when they happen, by
database triggers on `leads` and `activities` (migration 0007, SQLite triggers and PostgreSQL
plpgsql functions), so every writer — services, imports, merges, erasure, the demo loader,
raw SQL — keeps them right, and every report is current (no caching):
- report_lead_days: leads per day received × park × source × owner × stage × furthest
  stage × lost reason × utm tags × responded, with their site visits (leads.visit_count).
  funnel, lost reasons, sources, campaigns, agents' counts, "new" of the trend and the
  response / waiting counts sum a few ten thousand rows at most.
- report_closed_days: won and lost leads per day closed (the trend's won and lost).
- report_histograms: per bucket of duration (crm.reports.histogram.BOUNDS_MS), the response
  times (leads.first_response_ms, stamped by trigger in integer ms), the working-time
  response (leads.first_response_working_ms, the SLA clock of crm.leads.sla in integers), the
  finished stays per stage and the number of current stays; kept in all, per owner and per
  park × source × owner. A percentile is exact: the histogram says which bucket holds its
  rank, one indexed query reads the value at the offset inside the bucket. SLA compliance sums
  the buckets up to the SLA and counts inside the one bucket it cuts.
- lead_stage_stays: the stays the days-in-stage median counts, recomputed for a lead by the
  report's own window function whenever its stage changes (or dimensions) are touched.
  Current stays last "up to now", so they are counted by age with index range counts from the
  youngest, only as far as the median needs.
- report_demand_days: open leads per day received × the requirement fields the matching hard
  rules read × location; unmet and property demand run the hard rules once per requirement
  (about a thousand), not per lead. With a park, source or owner filter (property demand:
  source or owner) they group the cohort's open leads directly, as before: slower.
- Read from `leads` on covering indexes: the leads not responded yet of the last few days
  (whether past the SLA depends on now) and the recently active open leads (stale).
Zero rows are left behind by moves; every read ignores them.
"""
