"""``dagskassa sandbox``: serve the Fortnox sandbox on 127.0.0.1 for demos, end-to-end tests and
benchmarks."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser(
        "sandbox",
        help="serve the Fortnox sandbox (a local Fortnox) over HTTP",
        description="Serve the Fortnox sandbox: OAuth at /oauth-v1/, the API at /3/, the ledger at "
        "/_sandbox/ledger. Seeded client, tenants and users are printed at start.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    sandbox.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of /3/ requests answered 503 (0..1)"
    )
    sandbox.add_argument("--seed", type=int, default=0, help="seed for injected faults")
    sandbox.add_argument("--no-rate-limit", action="store_true", help="turn off the 25 per 5 s limit")
    sandbox.set_defaults(handler=sandbox_command)


def sandbox_command(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from exporters.fortnox.sandbox import create_app, seeded_state
    from exporters.fortnox.sandbox.seed import CLIENT_ID, CLIENT_SECRET

    if not 0.0 <= args.fail_rate <= 1.0:
        print("dagskassa: --fail-rate must be between 0 and 1", file=sys.stderr)
        return 2
    state = seeded_state(seed=args.seed)
    state.knobs.latency_ms = args.latency_ms
    state.knobs.rate_limit_enabled = not args.no_rate_limit
    if args.fail_rate:
        state.knobs.add_fault("5xx", rate=args.fail_rate, status=503)
    server = make_server(args.host, args.port, create_app(state), threaded=True)
    base = f"http://{args.host}:{server.server_port}"
    print(f"Fortnox sandbox on {base}")
    print(f"  authorize: {base}/oauth-v1/auth   token: {base}/oauth-v1/token   API: {base}/3/")
    print(f"  ledger:    {base}/_sandbox/ledger")
    print(f"  client id: {CLIENT_ID}   secret: {CLIENT_SECRET}")
    for user in state.users.values():
        companies = ", ".join(f"{state.tenants[t].company['CompanyName']} ({t})" for t in user.tenants)
        print(f"  user: {user.email} / {user.password}  ->  {companies}")
    sys.stdout.flush()  # the URL line is what scripts starting the sandbox wait for
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
