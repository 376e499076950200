"""Embedded maas-api: tokens, models, tier lookup and health, per docs/contract.md#maas-api."""
