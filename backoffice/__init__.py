"""The BackOffice: the web app for store managers and agencies, and the register API.

The app factory is :func:`backoffice.app.create_app`; the schema lives in :mod:`backoffice.models` and
its Alembic migrations in ``backoffice/migrations``.
"""
