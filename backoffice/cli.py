"""``dagskassa serve``, ``dagskassa db upgrade`` and ``dagskassa users create``."""

from __future__ import annotations

import argparse
import getpass
import subprocess
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the BackOffice web app (gunicorn)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    serve.add_argument("--no-upgrade", action="store_true", help="do not migrate the database first")
    serve.add_argument(
        "--export-workers",
        type=int,
        default=2,
        help="export worker threads beside the web app (default 2; 0 when `dagskassa worker` runs apart)",
    )
    serve.add_argument(
        "--no-scheduler", action="store_true", help="leave the scheduled jobs to `dagskassa scheduler`"
    )
    serve.set_defaults(handler=serve_command)

    db = subparsers.add_parser("db", help="the BackOffice database")
    db_actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_actions.add_parser("upgrade", help="create or migrate the tables").set_defaults(
        handler=upgrade_command
    )

    users = subparsers.add_parser("users", help="BackOffice users")
    user_actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = user_actions.add_parser(
        "create",
        help="make a user (the first one, typically)",
        description="Make a user of an agency (created if new). A store manager needs --store; a store "
        "named there that does not exist yet is created with --org-number.",
    )
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=("agency_admin", "store_manager"), default="agency_admin")
    create.add_argument("--agency", required=True, help="agency name")
    create.add_argument("--store", action="append", default=[], help="store name (repeatable)")
    create.add_argument("--org-number", help="organisation number for a new store, NNNNNN-NNNN")
    create.add_argument("--name", default="")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.set_defaults(handler=users_create_command)

    from backoffice import sie_cli

    sie_cli.register(subparsers)


def _engine(args: argparse.Namespace):
    from backoffice.db import make_engine
    from config.settings import ensure_parent_dir

    url = args.settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////:memory:"):
        ensure_parent_dir(url.removeprefix("sqlite:///"))
    return make_engine(url, args.settings.database.echo)


def upgrade_command(args: argparse.Namespace) -> int:
    from backoffice.migrate import upgrade

    upgrade(_engine(args))
    print("database is up to date")
    return 0


def users_create_command(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from backoffice.auth import UserError, create_user
    from backoffice.models import Agency, Store
    from exporters.core.zreport import org_number_is_valid

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    engine = _engine(args)
    try:
        with Session(engine) as session:
            agency = session.scalars(select(Agency).where(Agency.name == args.agency)).first()
            if agency is None:
                agency = Agency(name=args.agency)
                session.add(agency)
                session.flush()
            stores = []
            for name in args.store:
                store = session.scalars(
                    select(Store).where(Store.agency_id == agency.id, Store.name == name)
                ).first()
                if store is None:
                    if not args.org_number or not org_number_is_valid(args.org_number):
                        print(
                            f"dagskassa: store {name!r} is new: give its --org-number (NNNNNN-NNNN)",
                            file=sys.stderr,
                        )
                        return 2
                    store = Store(agency_id=agency.id, name=name, org_number=args.org_number)
                    session.add(store)
                    session.flush()
                stores.append(store)
            if args.role == "store_manager" and not stores:
                print("dagskassa: a store manager needs at least one --store", file=sys.stderr)
                return 2
            try:
                # Whoever runs the command chose the password: the user picks their own at the first sign-in.
                user = create_user(
                    session,
                    args.email,
                    password,
                    args.role,
                    agency,
                    stores,
                    args.name,
                    must_change_password=True,
                )
            except UserError as exc:
                print(f"dagskassa: {exc}", file=sys.stderr)
                return 2
            session.commit()
            print(f"user {user.email} ({user.role}) of {agency.name} created")
    finally:
        engine.dispose()
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from backoffice.operations.multiprocess import start_multiprocess

    # Before anything imports prometheus_client: the web, workers and scheduler then count together.
    start_multiprocess(args.settings.metrics.multiproc_dir)
    from gunicorn.app.base import BaseApplication

    from backoffice.app import create_app
    from backoffice.migrate import upgrade

    settings = args.settings
    if not args.no_upgrade:
        upgrade(_engine(args))

    pipelines: list[subprocess.Popen] = []

    def start_pipeline(_arbiter) -> None:
        # Beside the web app on one machine: the export workers and the scheduler, as processes of their
        # own. Not threads of gunicorn's master: it forks every web worker, and an SQLite connection open
        # in a process that forks leaves the child believing it holds that connection's locks ("database
        # is locked" in every web worker).
        base = [sys.executable, "-m", "config.cli", *(["--config", args.config] if args.config else [])]
        if args.export_workers:
            pipelines.append(subprocess.Popen([*base, "worker", "--threads", str(args.export_workers)]))
        if not args.no_scheduler:
            pipelines.append(subprocess.Popen([*base, "scheduler"]))

    def stop_pipeline(_arbiter) -> None:
        for process in pipelines:
            process.terminate()
        for process in pipelines:
            process.wait(30)

    class BackOffice(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.web.host}:{settings.web.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("when_ready", start_pipeline)
            self.cfg.set("on_exit", stop_pipeline)

        def load(self):
            return create_app(settings)

    BackOffice().run()
    return 0
