"""Certificate files for TLS tests, made by the ``openssl`` command.

Not by cryptography (which treadle's adhoc certificates use), so that every TLS test except the
adhoc ones also runs where cryptography cannot be installed, such as free-threaded 3.13t.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CRYPTOGRAPHY_MISSING = (
    "adhoc certificates need cryptography, which cannot be installed here"
    " (on free-threaded 3.13t its cffi wants 3.14t)"
)


def write_self_signed(folder: Path) -> tuple[str, str]:
    """Write cert.pem and key.pem for localhost, 127.0.0.1 and ::1; return their paths."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(cert), str(key)
