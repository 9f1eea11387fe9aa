"""Running the API: in the foreground (``govcat serve``), or beside the explorer (``govcat explore``).

A background API is a child process that stops with its parent: when the explorer ends, on
Ctrl+C, on SIGTERM, and (on Linux) even when the parent is killed outright.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from catalog.errors import CatalogError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
STOP_SECONDS = 10


def check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise CatalogError(f"--port {port} is not a port number (1 to 65535)")


def serve(home: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info") -> None:
    """Serve the API in this process until Ctrl+C or SIGTERM."""
    import uvicorn

    from catalog.api.app import create_app

    check_port(port)
    if not port_free(host, port):
        raise CatalogError(f"{host}:{port} is already in use: stop what is listening there, or choose "
                           f"another --port")
    uvicorn.run(create_app(home), host=host, port=port, log_level=log_level, server_header=False)


def port_free(host: str, port: int) -> bool:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        return True
    except OSError:
        return False


def start_in_background(home: Path, host: str, port: int) -> subprocess.Popen | None:
    """``govcat serve`` as a child process, quiet but for warnings; None (and a note) if the port is taken."""
    check_port(port)
    if not port_free(host, port):
        print(f"govcat: {host}:{port} is in use, so the API was not started beside the explorer "
              f"(choose another --api-port, or --no-api)", file=sys.stderr, flush=True)
        return None
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-m", "catalog.cli", "serve", "--home", str(home), "--host", host,
                             "--port", str(port), "--log-level", "warning"], env=env, preexec_fn=die_with_parent)


def run_with(command: list[str], env: dict[str, str], companions: list[subprocess.Popen]) -> int:
    """Run ``command`` until it ends or this process is told to stop; then stop it and ``companions``."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    main = None
    try:
        main = subprocess.Popen(command, env=env, preexec_fn=die_with_parent)
        return main.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in [main, *companions]:
            if process is not None:
                _stop(process)
        signal.signal(signal.SIGTERM, previous)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def die_with_parent() -> None:
    """In a child, before exec: ask Linux for SIGTERM when the parent dies (elsewhere: nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
