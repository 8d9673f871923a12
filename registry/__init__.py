"""The land registry's operations: applications for a service (split, merge, transfer, mortgage,
mortgage cancellation, boundary correction) checked against a catalogue of coded rules, approved
and registered as one transaction, and the documents the registry issues.

The SQL lives in ``landdb`` (one module per table); this package holds the procedure above it.
"""
