#!/usr/bin/env python3
"""A counting HTTP proxy in front of an AAS server, for tests.

usage: aas-count-proxy.py UPSTREAM_BASE PORT_FILE LOG_FILE
Listens on a free 127.0.0.1 port (written to PORT_FILE once listening) and
forwards every GET to UPSTREAM_BASE (scheme://host:port) unchanged; appends one
line "METHOD PATH STATUS" per request to LOG_FILE, so a test can count what
reached the server.
"""
import http.server
import os
import sys
import urllib.error
import urllib.request

UPSTREAM, PORT_FILE, LOG_FILE = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with urllib.request.urlopen(UPSTREAM + self.path, timeout=30) as r:
                status, body, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, body, ctype = e.code, e.read(), e.headers.get("Content-Type")
        with open(LOG_FILE, "a", encoding="utf-8") as log:
            log.write(f"GET {self.path} {status}\n")
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
open(LOG_FILE, "a").close()
with open(PORT_FILE + ".t", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".t", PORT_FILE)
server.serve_forever()
