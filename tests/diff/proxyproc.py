"""Starting, checking and stopping one proxy process (HAProxy or the engine) for the differential harness.

Every process is started in its own session, known by its PID only, waited for with a deadline, and stopped
with SIGTERM then (after STOP_GRACE seconds) SIGKILL, to that PID alone.
"""

import errno
import os
import resource
import signal
import socket
import subprocess
import time

START_TIMEOUT = 15.0
STOP_GRACE = 12.0
BINARY_RETRIES = 10
BINARY_RETRY_SLEEP = 3.0


def raise_fd_limit(want=262144):
    """HAProxy sizes its descriptor table from maxconn and refuses to start below it (root may raise it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((max(hard, want), max(hard, want)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return
        except (ValueError, OSError):
            continue


def _popen_retrying(make):
    """The engine binary may be replaced by a build while we run: ETXTBSY/ENOENT are retried, bounded."""
    for attempt in range(BINARY_RETRIES):
        try:
            return make()
        except OSError as e:
            if e.errno not in (errno.ETXTBSY, errno.ENOENT) or attempt == BINARY_RETRIES - 1:
                raise
            time.sleep(BINARY_RETRY_SLEEP)
    raise RuntimeError("unreachable")


def check_config(argv, timeout=30.0):
    """Runs a --check style command. Returns (exit code, output)."""
    try:
        p = _popen_retrying(lambda: subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                   timeout=timeout, stdin=subprocess.DEVNULL))
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return -1, "timed out after %.0f s: %s" % (timeout, (e.output or b"").decode("utf-8", "replace"))


def _accepts(port):
    s = socket.socket()
    s.settimeout(0.3)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class ProxyProcess:
    def __init__(self, label, argv, log_path, ports, ready_text=None):
        self.label = label
        self.argv = argv
        self.log_path = log_path
        self.ports = ports
        self.ready_text = ready_text
        self.proc = None
        self.log = None

    def start(self):
        """Starts and waits until every port accepts (and ready_text was printed). Returns None or an error."""
        self.log = open(self.log_path, "wb")
        self.proc = _popen_retrying(lambda: subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                                             stdin=subprocess.DEVNULL, start_new_session=True))
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(self.ports)
        ready = self.ready_text is None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "%s exited with %s at start: %s" % (self.label, self.proc.returncode, self.output()[-600:])
            pending = [p for p in pending if not _accepts(p)]
            if not ready:
                ready = self.ready_text in self.output()
            if not pending and ready:
                return None
            time.sleep(0.05)
        return "%s not ready after %.0f s (ports not accepting: %s, ready line seen: %s)" % (
            self.label, START_TIMEOUT, pending, ready)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM to our PID, bounded wait, then SIGKILL to the same PID. Returns the exit code."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                code = self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                code = self.proc.wait(timeout=5)
        if self.log is not None:
            self.log.close()
            self.log = None
        return code
