"""``python -m treadle``: the same as the ``treadle`` command."""

from __future__ import annotations

from treadle.cli import main

main()
