"""``dagskassa visma-sandbox``: serve the Visma eEkonomi sandbox on 127.0.0.1 for demos, end-to-end tests
and a manager's "try before connecting"."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from exporters.sandbox_cli import add_sandbox_parser, serve_sandbox


def register(subparsers: argparse._SubParsersAction) -> None:
    add_sandbox_parser(
        subparsers,
        "visma-sandbox",
        help="serve the Visma eEkonomi sandbox (a local Visma) over HTTP",
        description="Serve the Visma sandbox: the identity server at /connect/, the API at /v2/, the "
        "ledger at /_sandbox/ledger. Seeded client, companies and users are printed at start.",
        port=8766,
        fail_help="share of /v2/ requests answered 500 (0..1)",
        rate_limit_help="turn off the 600 per minute limit",
        handler=sandbox_command,
    )


def sandbox_command(args: argparse.Namespace) -> int:
    from exporters.visma.sandbox import create_app, seeded_state

    return serve_sandbox(args, "Visma", seeded_state, create_app, _banner)


def _banner(state: Any, base: str) -> Iterator[str]:
    yield f"  authorize: {base}/connect/authorize   token: {base}/connect/token   API: {base}/v2/"
    yield f"  ledger:    {base}/_sandbox/ledger"
    for client in state.clients.values():
        yield f"  client id: {client.client_id}   secret: {client.client_secret}"
    for user in state.users.values():
        companies = ", ".join(state.companies[key].name for key in user.companies)
        yield f"  user: {user.email} / {user.password}  ->  {companies}"
