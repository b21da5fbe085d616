"""A connection's states and every legal transition, as two tables.

Each side of a request/response cycle moves only along these tables;
:class:`treadle.http.connection.Connection` never assigns a state any other
way. ``after(table, trigger)`` slices a table into a state -> state dict so a
transition on the hot path is one lookup keyed by an interned string.
"""

from __future__ import annotations

from typing import Final

__all__ = ["RECV", "SEND", "after"]

# Receiving side: the request.
HEAD: Final = "HEAD"                  # waiting for (the rest of) a request head
LENGTH_BODY: Final = "LENGTH_BODY"    # reading a Content-Length body (0 for no body)
CHUNKED_BODY: Final = "CHUNKED_BODY"  # reading a chunked body and its trailers
RECV_DONE: Final = "RECV_DONE"        # EndOfMessage returned: PAUSED until the next cycle
CLOSED: Final = "CLOSED"              # the peer closed between requests
RECV_ERROR: Final = "RECV_ERROR"      # a RemoteProtocolError was raised; it is raised again

# Sending side: the response.
IDLE: Final = "IDLE"                  # no final response started (1xx may have been sent)
SEND_BODY: Final = "SEND_BODY"        # head sent, body parts follow
SEND_DONE: Final = "SEND_DONE"        # the response is complete
SEND_ERROR: Final = "SEND_ERROR"      # the body broke its framing; only closing is left

# Triggers.
REQUEST_LENGTH: Final = "request with Content-Length framing"
REQUEST_CHUNKED: Final = "request with chunked framing"
END_OF_MESSAGE: Final = "end of message"
PEER_CLOSED: Final = "peer closed"
PEER_ERROR: Final = "peer error"
INTERIM: Final = "send 1xx response"
RESPONSE: Final = "send response"
DATA: Final = "send data"
END: Final = "send end"
FRAMING_ERROR: Final = "framing error"
NEXT_CYCLE: Final = "start next cycle"

RECV: Final[dict[tuple[str, str], str]] = {
    (HEAD, REQUEST_LENGTH): LENGTH_BODY,
    (HEAD, REQUEST_CHUNKED): CHUNKED_BODY,
    (HEAD, PEER_CLOSED): CLOSED,
    (HEAD, PEER_ERROR): RECV_ERROR,
    (LENGTH_BODY, END_OF_MESSAGE): RECV_DONE,
    (LENGTH_BODY, PEER_ERROR): RECV_ERROR,
    (CHUNKED_BODY, END_OF_MESSAGE): RECV_DONE,
    (CHUNKED_BODY, PEER_ERROR): RECV_ERROR,
    (RECV_DONE, NEXT_CYCLE): HEAD,
}

SEND: Final[dict[tuple[str, str], str]] = {
    (IDLE, INTERIM): IDLE,
    (IDLE, RESPONSE): SEND_BODY,
    (SEND_BODY, DATA): SEND_BODY,
    (SEND_BODY, END): SEND_DONE,
    (SEND_BODY, FRAMING_ERROR): SEND_ERROR,
    (SEND_DONE, NEXT_CYCLE): IDLE,
}


def after(table: dict[tuple[str, str], str], trigger: str) -> dict[str, str]:
    """The states ``trigger`` is legal in, mapped to where it leads."""
    return {state: new for (state, on), new in table.items() if on == trigger}
