"""The optional C extension; everything else about the package is in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds and treadle uses the
pure-Python twin of each part (see src/treadle/_speedups.c).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("treadle._speedups", ["src/treadle/_speedups.c"], optional=True),
    ],
)
