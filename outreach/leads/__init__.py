"""Leads: how leads come in and go out as files.

* `resources`: CSV import and export (django-import-export), every row
  checked before anything is written, each bad row named with its reasons.
* `imports`: large files imported in the background, chunk by chunk, with
  progress (the job itself is `outreach.jobs.import_leads`).

The lead's canonical identity (address and domain) is `compliance.identity`;
the model is `outreach.models.Lead`. Read next: `outreach.drafting`.
"""
