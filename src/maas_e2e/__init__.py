"""The e2e suite's own library: the oracle that judges a MaaS deployment.

It is written independently of `maas_local` (the embedded stand-in) and never imports it, so a
misreading of the contract cannot hide on both sides and make a check pass by construction.
"""
