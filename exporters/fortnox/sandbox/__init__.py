"""A faithful local Fortnox: OAuth2 with a consent page and rotating refresh tokens, the REST API under
``/3/`` with Fortnox's rules, error codes and both error casings, its rate limit, and knobs for latency
and faults. A WSGI app: mount it in process with ``httpx.WSGITransport(app=create_app())`` or serve it
with ``dagskassa sandbox --port N``. What real Fortnox does and where we know it from: FACTS.md.

Seeds (``seed.seeded_state()``; ``create_app()`` uses them when given no state):

- OAuth client ``dagskassa-sandbox`` / secret ``sandbox-secret``: every scope, service accounts allowed,
  any redirect URI on http://127.0.0.1 or http://localhost. Client ``limited-sandbox`` /
  ``limited-secret``: only companyinformation, bookkeeping, settings, costcenter; no service accounts.
- Tenants (DatabaseNumber = TenantId): 100001 Exempelkrogen AB 556677-8899 (cost centers REST1, BAR1
  and inactive GAMMAL), 100002 Salong Björk AB 559012-3456 (BUT1), 100003 Kedjan Väst AB 556123-4567
  (BUT1). Each has the BAS 2025 chart (343 accounts, all active, cost center and project ALLOWED),
  financial years last year (Id 1) and this year (Id 2) as calendar years, series A (automatic), B
  (invoices, automatic) and K "Kassa" (manual) in both, project P1, last year locked, customers 1 and 2.
- Users (email / password): anna@exempelkrogen.se / anna-sandbox (100001, system administrator),
  kim@exempelkrogen.se / kim-sandbox (100001, not administrator), bo@salongbjork.se / bo-sandbox
  (100002), byra@redovisning.se / byra-sandbox (all three, picks a company on the consent page).

From Python: ``state = seeded_state(seed=7)``; ``state.knobs.latency_ms = 20``;
``state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")``;
``state.clock.advance(3601)``; ``state.tenants[100001].accounts[1910].active = False``. Hold
``state.lock`` when changing it while a server thread runs. Over HTTP: ``/_sandbox/`` (see ``admin``).
Served on a thread: ``with SandboxServer(state) as sandbox: ... sandbox.base_url ...``.
"""

from exporters.fortnox.sandbox.app import create_app
from exporters.fortnox.sandbox.seed import CLIENT_ID, CLIENT_SECRET, seeded_state
from exporters.fortnox.sandbox.server import SandboxServer
from exporters.fortnox.sandbox.state import Fault, Knobs, SandboxState

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "Fault",
    "Knobs",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "seeded_state",
]
