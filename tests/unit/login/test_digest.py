"""The one Digest helper of the HTTP and RTSP logins, against the RFCs' own examples."""

from __future__ import annotations

import hashlib
import re

import pytest

from probes._login.digest import (
    MAX_CHALLENGES,
    AuthChallenge,
    DigestChallenge,
    best_digest,
    parse_challenges,
)

# RFC 7616 section 3.9.1: one nonce, offered with SHA-256 and with MD5.
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def rfc7616(algorithm: str) -> str:
    return (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )


def params(authorization: str) -> dict[str, str]:
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "Digest"
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in re.finditer(r'([\w*]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', rest)
    }


def one(value: str) -> DigestChallenge:
    challenge = best_digest(parse_challenges([value]))
    assert challenge is not None
    return challenge


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc_7616_example(algorithm: str, response: str) -> None:
    challenge = one(rfc7616(algorithm))
    assert (challenge.qop, challenge.realm, challenge.nonce) == (
        "auth",
        "http-auth@example.org",
        RFC7616_NONCE,
    )
    value = challenge.authorization(
        "GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce=RFC7616_CNONCE
    )
    got = params(value)
    assert got["response"] == response
    assert got["username"] == "Mufasa"
    assert got["uri"] == "/dir/index.html"
    assert (got["qop"], got["nc"], got["cnonce"]) == ("auth", "00000001", RFC7616_CNONCE)
    assert got["opaque"] == RFC7616_OPAQUE
    assert got["algorithm"] == algorithm
    assert "Circle of Life" not in value


def test_rfc_2617_example() -> None:
    challenge = one(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = challenge.authorization(
        "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    assert params(value)["response"] == "6629fae49393a05397450978507c4ef1"
    assert params(value)["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


def test_the_strongest_of_several_challenges_is_answered() -> None:
    # RFC 7616 section 3.7: one challenge per algorithm, the client takes the one it prefers.
    values = [rfc7616("MD5"), rfc7616("SHA-256"), 'Basic realm="x"']
    assert one(", ".join(values)).algorithm == "SHA-256"
    assert best_digest(parse_challenges(values)) == one(rfc7616("SHA-256"))
    both = rfc7616("SHA-512-256-sess") + ", " + rfc7616("SHA-256")
    assert one(both).algorithm == "SHA-512-256-sess"


def test_quoting_case_and_neighbours_are_tolerated() -> None:
    found = parse_challenges(
        [
            'Negotiate, basic REALM=cam, DIGEST Realm="a \\"b\\" c",NONCE=n1 , QOP="AUTH"',
            "Negotiate YIIGhgYGKwYBBQ==",
            "",
            "   ,,, garbage ::: ",
        ]
    )
    assert [c.scheme for c in found[:3]] == ["negotiate", "basic", "digest"]
    assert found[1].params == {"realm": "cam"}
    assert found[2].params == {"realm": 'a "b" c', "nonce": "n1", "qop": "AUTH"}
    digest = DigestChallenge.of(found[2])
    assert digest is not None
    assert (digest.realm, digest.qop, digest.algorithm) == ('a "b" c', "auth", "MD5")
    # the realm goes back escaped, and hashed unescaped
    value = digest.authorization("GET", "/", "admin", "pw", cnonce="c")
    assert 'realm="a \\"b\\" c"' in value
    assert params(value)["response"] == digest.response(
        "GET", "/", "admin", "pw", "00000001", "c", b""
    )
    ha1 = hashlib.md5(b'admin:a "b" c:pw').hexdigest()  # noqa: S324 -- the RFC's MD5
    ha2 = hashlib.md5(b"GET:/").hexdigest()  # noqa: S324
    want = hashlib.md5(f"{ha1}:n1:00000001:c:auth:{ha2}".encode()).hexdigest()  # noqa: S324
    assert params(value)["response"] == want


def test_what_cannot_be_answered_is_set_aside() -> None:
    assert best_digest(parse_challenges(['Digest realm="r", nonce="n", algorithm=SHA-1'])) is None
    assert best_digest(parse_challenges(['Digest realm="r", qop="auth"'])) is None  # no nonce
    assert best_digest(parse_challenges(['Digest nonce="n", qop="auth-conf"'])) is None
    assert best_digest(parse_challenges(['Basic realm="r"'])) is None
    # an unusable challenge does not hide a usable one beside it
    value = 'Digest nonce="n", algorithm=SHA-1, Digest nonce="m", algorithm=md5-SESS'
    assert one(value).algorithm == "md5-SESS"


def test_rfc_2069_server_gets_no_qop_and_no_algorithm() -> None:
    challenge = one('Digest realm="cam", nonce="abc"')
    value = challenge.authorization("DESCRIBE", "rtsp://cam/live", "admin", "pw")
    got = params(value)
    assert "qop" not in got
    assert "nc" not in got
    assert "cnonce" not in got
    assert "algorithm" not in got
    assert "opaque" not in got
    ha1 = hashlib.md5(b"admin:cam:pw").hexdigest()  # noqa: S324
    ha2 = hashlib.md5(b"DESCRIBE:rtsp://cam/live").hexdigest()  # noqa: S324
    assert got["response"] == hashlib.md5(f"{ha1}:abc:{ha2}".encode()).hexdigest()  # noqa: S324


@pytest.mark.parametrize(
    ("algorithm", "hashname"),
    [
        ("MD5-sess", "md5"),
        ("SHA-256-sess", "sha256"),
        ("SHA-512-256", "sha512_256"),
        ("SHA-512-256-sess", "sha512_256"),
    ],
)
def test_every_algorithm_and_its_session_form(algorithm: str, hashname: str) -> None:
    def h(text: str) -> str:
        return hashlib.new(hashname, text.encode()).hexdigest()

    challenge = one(f'Digest realm="r", nonce="n", qop=auth, algorithm={algorithm}')
    got = params(challenge.authorization("GET", "/x", "u", "p", cnonce="cn"))
    ha1 = h("u:r:p")
    if algorithm.endswith("-sess"):
        ha1 = h(f"{ha1}:n:cn")
    assert got["response"] == h(f"{ha1}:n:00000001:cn:auth:{h('GET:/x')}")
    assert got["algorithm"] == algorithm


def test_auth_int_hashes_the_body_and_nc_counts_uses() -> None:
    challenge = one('Digest realm="r", nonce="n", qop="auth-int"')
    assert challenge.qop == "auth-int"
    body = b'{"a": 1}'
    first = params(challenge.authorization("POST", "/api", "u", "p", cnonce="c", body=body))
    ha1 = hashlib.md5(b"u:r:p").hexdigest()  # noqa: S324
    ha2 = hashlib.md5(  # noqa: S324
        f"POST:/api:{hashlib.md5(body).hexdigest()}".encode()  # noqa: S324
    ).hexdigest()
    want = hashlib.md5(f"{ha1}:n:00000001:c:auth-int:{ha2}".encode()).hexdigest()  # noqa: S324
    assert (first["qop"], first["response"]) == ("auth-int", want)
    second = params(challenge.authorization("POST", "/api", "u", "p", cnonce="c", body=body))
    assert second["nc"] == "00000002"
    assert second["response"] != want


def test_userhash_and_a_name_that_is_not_ascii() -> None:
    # RFC 7616 section 3.4.4: with userhash the name goes hashed, never in clear.
    challenge = one(
        'Digest realm="api@example.org", qop=auth, algorithm=SHA-512-256, '
        'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", charset=UTF-8, userhash=true'
    )
    name = "J\u00e4s\u00f8n Doe"
    value = challenge.authorization("GET", "/doc/index.html", name, "Secret, or not?")
    got = params(value)
    want = hashlib.new("sha512_256", f"{name}:api@example.org".encode()).hexdigest()
    assert got["username"] == want
    assert got["userhash"] == "true"
    assert name not in value
    # without userhash but with charset=UTF-8: username* (RFC 8187 encoding)
    plain = one('Digest realm="r", nonce="n", qop=auth, charset=UTF-8')
    got = params(plain.authorization("GET", "/", name, "pw"))
    assert got["username*"] == "UTF-8''J%C3%A4s%C3%B8n%20Doe"
    assert "username" not in got


def test_hostile_values_are_bounded() -> None:
    many = ", ".join(f"Basic realm=r{i}" for i in range(1000))
    assert len(parse_challenges([many])) == MAX_CHALLENGES
    wide = "Digest " + ", ".join(f"p{i}=v" for i in range(1000)) + ', nonce="n"'
    (found,) = parse_challenges([wide])
    assert len(found.params) == 32
    assert "nonce" not in found.params
    unterminated = parse_challenges(['Digest nonce="abc'])
    assert unterminated == [AuthChallenge("digest", {"nonce": "abc"})]
