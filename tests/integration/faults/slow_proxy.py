"""A loopback TCP proxy that holds back every HTTP PUT for a while.

Put in front of the S3 test server, it stretches a job's upload step so a test can
kill the worker in the middle of it. Bytes pass through unchanged (request signatures
stay valid); only data that starts a ``PUT`` request waits ``delay`` seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.services import free_port


class SlowPutProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_port``, delaying PUT requests."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and data.startswith(b"PUT "):
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        self._listener.close()
