"""One module per corpus program; `tests/corpus/registry.py` lists them."""
