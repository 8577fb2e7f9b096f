#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (NOTIFY_SOCKET): bind an
AF_UNIX datagram socket at PATH and append every message it receives to LOG
as one JSON string per line, until SIGTERM (then the messages already queued
are written too).

Usage: notify_socket.py PATH LOG
"""
import json
import os
import select
import signal
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # PATH exists only once the socket listens
# SIGTERM wakes the select() through this pipe; the handler itself does nothing.
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGTERM, lambda *_: None)


def record(out, data):
    out.write(json.dumps(data.decode("utf-8", "replace")) + "\n")
    out.flush()


with open(log, "a", encoding="utf-8") as out:
    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if sock in ready:
            record(out, sock.recv(4096))
        elif wake_r in ready:
            while True:  # the messages already queued, then stop
                try:
                    record(out, sock.recv(4096, socket.MSG_DONTWAIT))
                except BlockingIOError:
                    sys.exit(0)
