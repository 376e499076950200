"""maas-fidelity: how closely the embedded stack answers as the upstream services it stands in for.

It imports neither ``maas_e2e`` nor ``maas_local``: it holds requests and judgements that can be
played against either side.
"""
