"""shinsa: a network compliance scanner for small IoT and industrial devices."""

__version__ = "0.1.0"
