"""The ``dagskassa`` command: one entry point, sub-commands contributed by each package.

Each package that adds commands has a ``cli`` module with ``register(subparsers)``; it adds its
sub-parsers and sets ``handler`` on each (a function taking the parsed arguments and returning an exit
code). Heavy imports happen inside handlers, so ``dagskassa --help`` stays fast and the bridge, which
ships alone to a store, runs without the BackOffice installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from config.logs import setup_logging
from config.settings import SettingsError, load_settings

#: Modules that contribute commands, in the order ``--help`` lists them. A module that is not installed
#: (the bridge alone at a store has no ``backoffice``) is skipped.
COMMAND_MODULES = (
    "exporters.cli",
    "exporters.fortnox.cli",
    "exporters.sie.cli",
    "exporters.visma.cli",
    "backoffice.cli",
    "backoffice.pipeline.cli",
    "backoffice.notify.cli",
    "backoffice.operations.cli",
    "backoffice.demo",
    "pos_bridge.cli",
)


def _module_present(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagskassa",
        description="Dagskassa: a Swedish store's Z-report into balanced bookkeeping, exactly once.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (else DAGSKASSA_CONFIG)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        if _module_present(name):
            importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.settings = load_settings(args.config)
    except SettingsError as exc:
        if getattr(args, "reports_settings_error", False):  # `dagskassa doctor` reports it as a finding
            args.settings_error = exc
            return int(args.handler(args) or 0)
        print(f"dagskassa: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.settings.logging.level, args.settings.logging.json)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
