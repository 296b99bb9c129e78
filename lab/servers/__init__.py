"""One module per protocol family; each exposes `start(spec, device, host, port)`."""
