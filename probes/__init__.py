"""Probe families, one module each; the explicit list of them is `probes.registry.REGISTRY`.

The registry lives in its own module so that importing one helper (a login client in
`probes._login`) does not import every probe: that cost a tenth of a second per process.
"""
