"""Embedded maas-api: tokens, models, tier lookup and health, per CONTRACT.md."""
