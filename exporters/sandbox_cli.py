"""What ``dagskassa sandbox`` and ``dagskassa visma-sandbox`` share: the same options (address, port,
latency, a share of failing requests, the fault seed, no rate limit) and the same way of serving a sandbox
on 127.0.0.1 until Ctrl-C. Werkzeug is imported only when a sandbox is served."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any

#: ``banner(state, base_url)``: the lines printed under "<system> sandbox on <base_url>".
Banner = Callable[[Any, str], Iterable[str]]


def add_sandbox_parser(
    subparsers: argparse._SubParsersAction,
    command: str,
    *,
    help: str,
    description: str,
    port: int,
    fail_help: str,
    rate_limit_help: str,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """Register ``command`` with the options every sandbox takes."""
    sandbox = subparsers.add_parser(command, help=help, description=description)
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=port, help=f"port (default {port}; 0 picks a free one)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    sandbox.add_argument("--fail-rate", type=float, default=0.0, help=fail_help)
    sandbox.add_argument("--seed", type=int, default=0, help="seed for injected faults")
    sandbox.add_argument("--no-rate-limit", action="store_true", help=rate_limit_help)
    sandbox.set_defaults(handler=handler)


def serve_sandbox(
    args: argparse.Namespace,
    system: str,
    seeded_state: Callable[..., Any],
    create_app: Callable[[Any], Any],
    banner: Banner,
) -> int:
    """Seed a sandbox, turn its knobs as ``args`` say (failures are its default ``5xx`` fault), serve it
    threaded and print where and how to connect. Returns the exit status."""
    from werkzeug.serving import make_server

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
    print(f"{system} sandbox on {base}")
    for line in banner(state, base):
        print(line)
    sys.stdout.flush()  # the URL line is what scripts starting the sandbox wait for
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
