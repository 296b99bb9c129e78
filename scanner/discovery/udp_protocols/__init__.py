"""The UDP protocols discovery speaks: one module each, listed in scanner/discovery/udp.py."""
