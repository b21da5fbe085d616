from collections.abc import Callable
from typing import Any

class ProxyReader:
    def _set_up(
        self,
        source: Any,
        source_is_var: bool,
        step: Any,
        step_is_item: bool,
        recover: Callable[[Any, str, BaseException], Any],
        /,
    ) -> None: ...

def watch_beacon(beacon: Any, interval: float, /) -> int: ...
def send_now(fd: int, data: bytes | memoryview, /) -> int: ...
def recv_now(fd: int, size: int, /) -> bytes: ...
