"""`make run`: a Procfile's processes under honcho, the pages once they are up, and a clean Ctrl-C.

Ctrl-C signals the terminal's foreground process group. Under make that group is make's
own, and an interrupted make ends with "Error 130" and status 130 whatever its recipe does.
So honcho runs in a process group of its own that holds the terminal while it runs, as a
shell does with a job: Ctrl-C reaches honcho alone, honcho stops every process with
SIGTERM, and this script ends with 0 once they have all stopped.

Without a terminal (a script, CI), signal this script's process alone: a signal to make's
whole process group reaches make too, and make then ends with 130 or 143 whatever its recipe does.
"""

import argparse
import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120  # seconds for the web process to answer; the first run also compiles bytecode
QUIET = 1.5  # seconds without a log line, once every process has spoken: start-up is over
QUIET_AT_MOST = 15.0  # a process with nothing to say at start must not hold the list back for long
# honcho's prefix: time, process name and number, colours around them.
SPEAKER = re.compile(rb"^(?:\x1b\[[0-9;]*m)*\S+ ([\w-]+)\.\d+ +\|")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("procfile")
    parser.add_argument("--web", action="append", required=True, help="ip:port of a web process the Procfile starts")
    parser.add_argument("--busy-hint", default="", help="what to do when a port is taken, said after the ports")
    args = parser.parse_args()
    procfile = ROOT / args.procfile
    procfile_text = expanded(procfile.read_text())
    if busy := ports_in_use([("web", address) for address in args.web] + listen_addresses(procfile_text)):
        print(f"Cannot start: {busy} in use, by another `make run`? Stop that first{args.busy_hint}.", file=sys.stderr)
        return 1
    login = subprocess.run(
        [sys.executable, "manage.py", "ensure_admin"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    replicas = re.findall(r"--listen (\S+)", procfile_text)
    processes = set(re.findall(r"^([\w-]+):", procfile_text, re.MULTILINE))

    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", str(procfile)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    # Without a terminal (or when the terminal is not ours), SIGINT and SIGTERM reach this
    # process: pass them on, and still wait for honcho to stop everything.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, _: os.killpg(honcho.pid, signum))
    with terminal_held_by(honcho.pid):
        output = Output(honcho.stdout)
        output.start()
        if up(honcho, args.web, processes, output):
            output.write(page_list(args.web, replicas, login))
        returncode = honcho.wait()
        output.join()
    # honcho ends with 130 after SIGINT and 143 after SIGTERM once every process has stopped;
    # anything else is the status of a process that stopped on its own.
    if returncode in (130, 143):
        output.write("Stopped.\n")
        return 0
    return returncode


def expanded(procfile_text):
    """The Procfile as the shell will run it: variables, their defaults and arithmetic expanded."""
    script = 'eval "cat <<PROCFILE\n$1\nPROCFILE"'
    return subprocess.run(["sh", "-c", script, "sh", procfile_text], check=True, capture_output=True, text=True).stdout


def listen_addresses(procfile_text):
    """(process, "host:port") of every address a Procfile's processes listen on, besides the web ones."""
    found = []
    for name, command in re.findall(r"^([\w-]+):(.*)$", procfile_text, re.MULTILINE):
        found += [(name, address) for address in re.findall(r"--(?:metrics-)?listen (\S+)", command)]
        found += [(name, f"127.0.0.1:{port}") for port in re.findall(r"redis-server --port (\d+)", command)]
    return found


def ports_in_use(addresses):
    """ "127.0.0.1:8000 (web) and 127.0.0.1:9000 (contacts1) are" for the addresses taken, or ""."""
    busy = [f"{address} ({name})" for name, address in addresses if in_use(address)]
    if not busy:
        return ""
    return (" and ".join(busy) if len(busy) < 3 else ", ".join(busy[:-1]) + " and " + busy[-1]) + (
        " is" if len(busy) == 1 else " are"
    )


def in_use(address):
    """Whether something already listens on `host:port` (bound as the servers bind: SO_REUSEADDR)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


@contextlib.contextmanager
def terminal_held_by(process_group):
    """Make `process_group` the terminal's foreground group for the block, then take the terminal back."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:  # no controlling terminal: CI, nohup, a service
        yield
        return
    ours = False
    try:
        ours = os.tcgetpgrp(tty) == os.getpgrp()  # not when started in the background (`make run &`)
        if ours:
            os.tcsetpgrp(tty, process_group)
        yield
    finally:
        if ours:
            # From the background, taking the terminal back raises SIGTTOU unless it is ignored.
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(tty, os.getpgrp())
            signal.signal(signal.SIGTTOU, previous)
        os.close(tty)


class Output(threading.Thread):
    """Copies honcho's lines to stdout, noting who has spoken and when the last line came."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lock = threading.Lock()
        self.last_line = time.monotonic()
        self.speakers = set()

    def run(self):
        for line in self.stream:
            self.write(line.decode(errors="replace"))
            self.last_line = time.monotonic()
            if speaker := SPEAKER.match(line):
                self.speakers.add(speaker[1].decode())

    def write(self, text):
        with self.lock:
            sys.stdout.write(text)
            sys.stdout.flush()


def up(honcho, addresses, processes, output):
    """Wait until every web process answers and every process has spoken, then for a quiet moment.

    The Kozma bot says nothing until it connects, 5 s after it starts.
    """
    deadline = time.monotonic() + START_TIMEOUT
    for address in addresses:
        while not answers(f"http://{address}/api/settings"):
            if honcho.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.2)
    settled_by = time.monotonic() + QUIET_AT_MOST
    while (time.monotonic() - output.last_line < QUIET or processes - output.speakers) and (
        time.monotonic() < settled_by
    ):
        if honcho.poll() is not None:
            return False
        time.sleep(0.2)
    return honcho.poll() is None


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def page_list(addresses, replicas, login):
    base = f"http://{addresses[0]}"
    rows = [
        ("Chat", f"{base}/", "both dialects share its rooms"),
        ("Meeting", f"{base}/meeting", "WebRTC calls through /v1/connect"),
        ("Name server", f"{base}/nameserver/", "live clients"),
        ("Contacts", f"{base}/contacts/", "replicas on TCP " + ", ".join(replicas) if replicas else ""),
        ("Admin", f"{base}/admin/", login),
        ("API docs", f"{base}/api/schema/ui/", "every HTTP endpoint"),
        ("Health", f"{base}/healthz", f"ready: {base}/readyz"),
        ("Metrics", f"{base}/metrics", "Prometheus text, from this machine"),
    ]
    lines = [f"  {name:<12} {url:<40} {note}".rstrip() for name, url, note in rows]
    lines += [f"  {'':<12} the same pages on http://{address}/" for address in addresses[1:]]
    rule = "=" * 78
    return "\n".join([rule, "  Up and running. Open:", *lines, "", "  Stop everything with Ctrl-C.", rule, ""])


if __name__ == "__main__":
    sys.exit(main())
