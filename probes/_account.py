"""The account a logged-in check uses: the profile's `test_account` when set (its password
from an environment variable), else a credential the default-credentials probe found on
this service; None when neither is known."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.facts import VALID_CREDENTIALS

if TYPE_CHECKING:
    from scanner.credentials import Credential
    from scanner.model import Service
    from scanner.probe import ProbeContext

#: Why a logged-in check could not log in: the sentence its inconclusive result gives.
NO_CREDENTIAL = (
    "no valid credential is known for this login (none of the default credentials worked; "
    "set test_account in the profile)"
)
NO_CREDENTIAL_JA = (
    "このログインに使える正しい認証情報が分からない（初期認証情報はどれも通らなかった。"
    "プロファイルに test_account を設定する）"
)


def known_credential(ctx: ProbeContext, service: Service) -> Credential | None:
    if ctx.test_account is not None:
        return ctx.test_account.credential()
    found = [
        f.credential
        for f in ctx.facts.get(VALID_CREDENTIALS) or ()
        if f.service.port == service.port and f.service.transport == service.transport
    ]
    return found[0] if found else None
