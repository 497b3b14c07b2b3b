"""Only for the optional C accelerator of the SIE reader; everything else is in pyproject.toml.

``optional=True``: where it cannot be compiled (no C compiler, no Python headers) the install goes on
without it and the reader uses its pure-Python lane (same results, slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "exporters.sie._speedups",
            sources=["exporters/sie/_speedups.c"],
            optional=True,
        )
    ]
)
