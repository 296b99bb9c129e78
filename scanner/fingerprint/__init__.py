"""Fingerprinting: what answers on each open port (`services`), read from HTTP pages
(`http`), SSH identification lines (`ssh_ident`) and the identity signals a device gives
away (`identity`: vendor, model, firmware)."""
