"""The debugger PIN: how it is derived, the signed cookie that remembers it, the lockout.

The PIN hashes facts an attacker would have to guess (this machine's ids) with facts
about the app, so it is stable across restarts on one machine and differs elsewhere.
`TREADLE_DEBUG_PIN` overrides it ("off" disables it). Ten wrong PINs lock the console
until the process restarts.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass

PIN_ENV = "TREADLE_DEBUG_PIN"
#: How long an entered PIN is remembered, and how many wrong PINs lock the console.
COOKIE_MAX_AGE = 8 * 60 * 60
MAX_FAILED_ATTEMPTS = 10

#: Files whose contents identify this machine (Linux), read in order; the first found counts.
MACHINE_ID_FILES = ("/etc/machine-id", "/proc/sys/kernel/random/boot_id")
#: Tells containers on one host apart.
CGROUP_FILE = "/proc/self/cgroup"


@dataclass(frozen=True)
class DebugPin:
    """The PIN (None when disabled) and what its cookie is named and signed with."""

    value: str | None
    cookie_name: str
    cookie_key: bytes


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read().strip()
    except OSError:
        return b""


def machine_id() -> bytes:
    """Bytes that identify this machine (and container), or b"" where none are known."""
    ident = b""
    for path in MACHINE_ID_FILES:
        ident = _read(path)
        if ident:
            break
    cgroup = _read(CGROUP_FILE).splitlines()
    if cgroup:
        ident += cgroup[0].rpartition(b"/")[2]
    if not ident and sys.platform == "win32":
        try:
            import winreg

            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography")
            ident = str(winreg.QueryValueEx(key, "MachineGuid")[0]).encode()
        except OSError:
            pass
    return ident


def _username() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return ""


def _app_facts(app: object) -> list[str]:
    module_name = getattr(app, "__module__", None) or type(app).__module__
    module = sys.modules.get(module_name)
    return [
        _username(),
        module_name,
        getattr(app, "__name__", type(app).__name__),
        str(getattr(app, "import_name", "")),
        str(getattr(module, "__file__", "") or ""),
    ]


def _format(digits: str) -> str:
    return "-".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def _from_env(value: str) -> str | None:
    if value.strip().lower() == "off":
        return None
    digits = value.replace("-", "").strip()
    if not digits.isdecimal() or len(digits) < 6:
        raise ValueError(
            f"{PIN_ENV}={value!r} is not a PIN: use 'off' to disable it, or digits such as"
            " 123-456-789 (at least six)."
        )
    return value.strip() if "-" in value else _format(digits)


def pin_for_app(app: object, environ: dict[str, str] | None = None) -> DebugPin:
    """Derive the PIN and cookie secrets for `app` on this machine."""
    env = os.environ if environ is None else environ
    private = [str(uuid.getnode()).encode(), machine_id()]
    digest = hashlib.sha256(b"treadle-debugger-pin")
    for fact in [*(f.encode() for f in _app_facts(app)), *private]:
        digest.update(b"\0" + fact)
    number = int.from_bytes(digest.digest()[:8], "big")
    pin: str | None = _format(f"{number % 10**9:09d}")
    override = env.get(PIN_ENV)
    if override is not None:
        pin = _from_env(override)
    # The cookie's name and key change with the PIN, so a new PIN voids old cookies.
    seed = hashlib.sha256(b"treadle-debugger-cookie\0" + digest.digest() + (pin or "").encode())
    return DebugPin(pin, f"__tdbg{seed.hexdigest()[:16]}", hashlib.sha256(seed.digest()).digest())


def _normalise(pin: str) -> str:
    return "".join(ch for ch in pin if ch.isdigit())


class PinGuard:
    """Checks entered PINs and PIN cookies, and locks after too many wrong PINs."""

    def __init__(self, pin: DebugPin, max_age: int = COOKIE_MAX_AGE) -> None:
        self.pin = pin
        self.max_age = max_age
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def locked(self) -> bool:
        with self._lock:
            return self._failures >= MAX_FAILED_ATTEMPTS

    @property
    def failures(self) -> int:
        with self._lock:
            return self._failures

    def attempt(self, entered: str) -> bool:
        """True if `entered` is the PIN. Once locked, every attempt fails unchecked."""
        if self.pin.value is None:
            return True
        with self._lock:
            if self._failures >= MAX_FAILED_ATTEMPTS:
                return False
            expected = _normalise(self.pin.value).encode()
            if hmac.compare_digest(_normalise(entered).encode(), expected):
                self._failures = 0
                return True
            self._failures += 1
            return False

    def make_cookie(self, now: float | None = None) -> str:
        stamp = str(int(time.time() if now is None else now))
        return f"{stamp}|{self._sign(stamp)}"

    def cookie_is_valid(self, value: str | None, now: float | None = None) -> bool:
        """True if the cookie proves the PIN was entered within max_age (and not locked)."""
        if self.pin.value is None:
            return True
        if value is None or self.locked:
            return False
        stamp, _, signature = value.partition("|")
        expected = self._sign(stamp).encode()
        if not stamp.isdecimal() or not hmac.compare_digest(signature.encode(errors="replace"), expected):
            return False
        age = (time.time() if now is None else now) - int(stamp)
        return 0 <= age <= self.max_age

    def _sign(self, stamp: str) -> str:
        return hmac.new(self.pin.cookie_key, stamp.encode(), hashlib.sha256).hexdigest()
