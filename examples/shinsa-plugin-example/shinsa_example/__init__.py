"""An example shinsa plugin (see README.md): one Python probe, one declarative check, a
framework and a profile that judge them, and a credential list."""
