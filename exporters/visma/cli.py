"""``dagskassa visma-sandbox``: serve the Visma eEkonomi sandbox on 127.0.0.1 for demos, end-to-end tests
and a manager's "try before connecting"."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser(
        "visma-sandbox",
        help="serve the Visma eEkonomi sandbox (a local Visma) over HTTP",
        description="Serve the Visma sandbox: the identity server at /connect/, the API at /v2/, the "
        "ledger at /_sandbox/ledger. Seeded client, companies and users are printed at start.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8766, help="port (default 8766; 0 picks a free one)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    sandbox.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of /v2/ requests answered 500 (0..1)"
    )
    sandbox.add_argument("--seed", type=int, default=0, help="seed for injected faults")
    sandbox.add_argument("--no-rate-limit", action="store_true", help="turn off the 600 per minute limit")
    sandbox.set_defaults(handler=sandbox_command)


def sandbox_command(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from exporters.visma.sandbox import create_app, seeded_state

    if not 0.0 <= args.fail_rate <= 1.0:
        print("dagskassa: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    state = seeded_state(seed=args.seed)
    state.knobs.latency_ms = args.latency_ms
    state.knobs.rate_limit_enabled = not args.no_rate_limit
    if args.fail_rate:
        state.knobs.add_fault("5xx", rate=args.fail_rate)
    server = make_server(args.host, args.port, create_app(state), threaded=True)
    base = f"http://{args.host}:{server.server_port}"
    print(f"Visma sandbox on {base}")
    print(f"  authorize: {base}/connect/authorize   token: {base}/connect/token   API: {base}/v2/")
    print(f"  ledger:    {base}/_sandbox/ledger")
    for client in state.clients.values():
        print(f"  client id: {client.client_id}   secret: {client.client_secret}")
    for user in state.users.values():
        companies = ", ".join(state.companies[key].name for key in user.companies)
        print(f"  user: {user.email} / {user.password}  ->  {companies}")
    sys.stdout.flush()  # the URL line is what scripts starting the sandbox wait for
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
