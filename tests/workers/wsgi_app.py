# SPDX-License-Identifier: ISC
"""
wsgi_app.py - a WSGI app for the tests that run gunicorn under clusterd
(ready = notify): it answers every request with its pid.

	gunicorn --chdir tests/workers wsgi_app:app

Given clusterd's sockets (LISTEN_FDS, LISTEN_PID), gunicorn serves them
instead of binding its own, and its arbiter sends READY=1 to
NOTIFY_SOCKET once they are open.
"""

import os


def app(environ, start_response):
    body = ("pid %d worker %s\n" % (os.getpid(),
            os.environ.get("CLUSTERD_WORKER", ""))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
