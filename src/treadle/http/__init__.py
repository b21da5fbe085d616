"""Sans-IO HTTP/1.1: bytes in, events out (``connection.Connection``); no sockets, no threads.

Modules: ``connection`` (the state machine), ``head`` and ``chunked`` (parsing),
``response`` (framing and encoding), ``state`` (the transition tables),
``events``, ``errors``, ``limits`` and ``syntax`` (byte tables).
"""
