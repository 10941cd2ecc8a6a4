"""Run a command on a pseudo-terminal, as a user at a terminal sees it.

click strips ANSI styles only when its output is not a terminal, so what a forged input can do
to a user's screen shows only on a real (pseudo-)terminal: ``run_on_a_terminal`` gives the
command one for stdin, stdout and stderr and returns every byte it wrote there.
"""

from __future__ import annotations

import errno
import os
import pty
import select
import subprocess
import time


def run_on_a_terminal(args: list[str], *, env: dict, cwd, timeout: float = 120) -> tuple[int, bytes]:
    """(exit status, bytes written to the terminal: stdout and stderr together; the terminal
    turns each ``\\n`` into ``\\r\\n``)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True)
    finally:
        os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError as e:  # EIO: the command exited and closed the terminal
                if e.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, bytes(out)
