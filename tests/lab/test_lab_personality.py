"""Personality files: the shipped ones load, and bad ones fail naming the file and field."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from lab.personality import FAULTS, HOSTILE, builtin_names, load_builtin, load_file, parse

if TYPE_CHECKING:
    from pathlib import Path

REQUIRED = {
    "weak-camera",
    "hardened-gateway",
    "legacy-plc",
    "home-router",
    "industrial-gateway",
    "fault-hang",
    "fault-reset",
    "fault-garbage",
    "fault-huge-banner",
    "fault-silent",
}


def minimal(**service: object) -> dict[str, object]:
    return {"name": "t", "services": [{"port": 80, "protocol": "http", **service}]}


def test_every_required_personality_ships() -> None:
    assert set(builtin_names()) >= REQUIRED


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_loads_and_never_uses_port_2024(name: str) -> None:
    personality = load_builtin(name)
    assert personality.name == name
    assert all(s.port != 2024 for s in personality.services)


@pytest.mark.parametrize("name", [n for n in builtin_names() if n.startswith("fault-")])
def test_fault_device_has_one_fault_and_a_normal_ssh(name: str) -> None:
    services = load_builtin(name).services
    faults = [s.fault for s in services if s.fault]
    assert len(faults) == 1
    assert faults[0] in FAULTS
    assert any(s.protocol == "ssh" and not s.fault for s in services)


def test_udp_transport_is_inferred_and_options_parsed() -> None:
    router = load_builtin("home-router")
    snmp = next(s for s in router.services if s.protocol == "snmp")
    assert snmp.transport == "udp"
    assert snmp.communities == ("public", "private")
    assert router.accounts[0].factory_default


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"services": []}, "name"),
        ({"name": "t", "services": []}, "services"),
        (minimal(port="eighty"), "services[0].port"),
        (minimal(port=2024), "services[0].port"),
        (minimal(login="oauth"), "services[0].login"),
        (minimal(protocl="x"), "services[0].protocl"),
        (minimal(communities=["public"]), "services[0].communities"),
        (minimal(fault="explode"), "services[0].fault"),
        (minimal(transport="udp"), "services[0].transport"),
        (minimal(trickle="slow"), "services[0].trickle"),
        (minimal(trickle=-1), "services[0].trickle"),
        ({"name": "t", "services": [{"port": 1, "protocol": "gopher"}]}, "services[0].protocol"),
        ({**minimal(), "accounts": [{"username": "a", "password": 1234}]}, "accounts[0].password"),
        ({**minimal(), "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_file_and_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^bad\.yaml: {re.escape(field)}:"):
        parse(data, "bad.yaml")


def test_duplicate_port_is_refused() -> None:
    data = {"name": "t", "services": [{"port": 80, "protocol": "http"}] * 2}
    with pytest.raises(ValueError, match="tcp/80 is used twice"):
        parse(data, "dup.yaml")


def test_load_file_reports_the_path(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nservices: [{port: 22, protocol: ssh, banner: nope}]\n")
    with pytest.raises(ValueError, match=r"x\.yaml: services\[0\]\.banner"):
        load_file(path)


def test_unknown_builtin_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="weak-camera"):
        load_builtin("no-such-device")


def test_echo_secrets_is_a_hostile_flag_off_by_default() -> None:
    assert parse(minimal(), "t").echo_secrets is False
    echo = load_builtin("fault-secret-echo")
    assert echo.echo_secrets
    assert echo.name in HOSTILE
    assert echo.name not in builtin_names()
    assert {s.protocol for s in echo.services} == {"http", "telnet", "ftp", "snmp"}
    with pytest.raises(ValueError, match="echo_secrets: must be true or false"):
        parse({**minimal(), "echo_secrets": "yes"}, "t")
