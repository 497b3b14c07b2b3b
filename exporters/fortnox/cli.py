"""``dagskassa sandbox``: serve the Fortnox sandbox on 127.0.0.1 for demos, end-to-end tests and
benchmarks."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from exporters.sandbox_cli import add_sandbox_parser, serve_sandbox


def register(subparsers: argparse._SubParsersAction) -> None:
    add_sandbox_parser(
        subparsers,
        "sandbox",
        help="serve the Fortnox sandbox (a local Fortnox) over HTTP",
        description="Serve the Fortnox sandbox: OAuth at /oauth-v1/, the API at /3/, the ledger at "
        "/_sandbox/ledger. Seeded client, tenants and users are printed at start.",
        port=8765,
        fail_help="share of /3/ requests answered 503 (0..1)",
        rate_limit_help="turn off the 25 per 5 s limit",
        handler=sandbox_command,
    )


def sandbox_command(args: argparse.Namespace) -> int:
    from exporters.fortnox.sandbox import create_app, seeded_state

    return serve_sandbox(args, "Fortnox", seeded_state, create_app, _banner)


def _banner(state: Any, base: str) -> Iterator[str]:
    from exporters.fortnox.sandbox.seed import CLIENT_ID, CLIENT_SECRET

    yield f"  authorize: {base}/oauth-v1/auth   token: {base}/oauth-v1/token   API: {base}/3/"
    yield f"  ledger:    {base}/_sandbox/ledger"
    yield f"  client id: {CLIENT_ID}   secret: {CLIENT_SECRET}"
    for user in state.users.values():
        companies = ", ".join(f"{state.tenants[t].company['CompanyName']} ({t})" for t in user.tenants)
        yield f"  user: {user.email} / {user.password}  ->  {companies}"
