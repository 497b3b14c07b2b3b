"""``dagskassa doctor``: what works and what to fix, a line each; exit code 0 when nothing failed."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check configuration, database, stored tokens, scheduler and SMTP; each line ok or the fix",
    )
    doctor.add_argument(
        "--scheduler-minutes",
        type=float,
        default=5.0,
        help="the scheduler counts as alive if it wrote its heartbeat this recently (default 5; it beats "
        "every minute)",
    )
    doctor.add_argument(
        "--rotate-keys",
        action="store_true",
        help="first re-encrypt every stored token with the first of security.encryption_keys",
    )
    # A setting that does not load is a finding of the doctor's, not a reason not to run.
    doctor.set_defaults(handler=doctor_command, reports_settings_error=True)


def doctor_command(args: argparse.Namespace) -> int:
    error = getattr(args, "settings_error", None)
    if error is not None:
        print(f"FAIL  configuration: {error}")
        return 1

    from datetime import timedelta

    from backoffice.operations.doctor import FAIL, open_database, rotate_keys, run_checks
    from backoffice.operations.scheduling import utc_now

    if args.rotate_keys:
        engine, findings = open_database(args.settings)
        if engine is None:
            print("\n".join(finding.line() for finding in findings))
            return 1
        print(f"ok    stored tokens: {rotate_keys(args.settings, engine)} re-encrypted with the first key")
        engine.dispose()
    findings = run_checks(args.settings, utc_now(), timedelta(minutes=args.scheduler_minutes))
    for finding in findings:
        print(finding.line())
    return 1 if any(finding.status == FAIL for finding in findings) else 0
