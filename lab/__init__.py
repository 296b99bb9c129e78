"""Simulated devices: YAML personalities served by small asyncio servers on loopback.

A personality is also the ground truth: `LabDevice.services` says what a perfect scanner
should find on each device.
"""
