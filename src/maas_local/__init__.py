"""maas-local: an embedded, faithful stand-in of a Models-as-a-Service deployment.

It exists so the e2e suite (and people) can exercise MaaS without a cluster. It never imports
``maas_e2e``: the suite is the oracle and must meet this stack only over HTTP.
"""
