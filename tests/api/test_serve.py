"""`govcat serve` as a real process, fetched the way the dataset page's snippets say; and
`govcat explore` starting the API beside the explorer and stopping it when it stops."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest

from catalog import downloads, snippets
from tests.api.ledger import published_home
from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{url} did not answer: {process.communicate()[0]}")
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return published_home(tmp_path_factory)


@pytest.fixture(scope="module")
def api(published):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "catalog.cli", "serve", "--home", str(published), "--port",
                                str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/healthz", process)
    yield url
    stop(process)


def test_the_python_snippet_reads_the_release_with_pandas(api, published, monkeypatch):
    monkeypatch.setenv(snippets.API_URL_ENV, api)
    python = snippets.snippets("ledger", 1)[0].code
    assert f'pd.read_csv("{api}/downloads/ledger@1.csv")' in python
    space: dict = {}
    exec(compile(python, "snippet", "exec"), space)  # the code exactly as the page shows it
    typed = space["df"]  # the last line: read_parquet, column types kept
    assert list(typed["id"]) == [1, 2, 3, 4] and typed["paid"].iloc[0].isoformat() == "2024-01-31"
    text = pd.read_csv(f"{api}/downloads/ledger@1.csv")
    assert list(text.columns) == ["id", "payee", "note", "amount", "paid", "logged", "approved"]
    assert list(text["amount"]) == [-12.5, 3.0, 0.1, 1_000_000.0] and text["note"][0] == "'=SUM(A1:A9)"
    assert len(pd.read_csv(f"{api}/downloads/ledger.csv")) == 5


def test_the_command_line_snippet_downloads_and_checks_the_file(api, published, tmp_path, monkeypatch):
    monkeypatch.setenv(snippets.API_URL_ENV, api)
    checksum = downloads.export_release(published, "ledger", "csv", release=1).sha256
    shell = snippets.snippets("ledger", 1, {"csv": checksum})[2].code
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", shell], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ledger-release-1.csv: OK" in done.stdout
    latest = snippets.snippets("ledger")[2].code
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", latest], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "ledger-release-2.csv: OK" in done.stdout, done.stderr


def test_serve_refuses_a_port_in_use_with_a_clear_message(published):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "catalog.cli", "serve", "--home", str(published), "--port",
                               str(port)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and f"127.0.0.1:{port} is already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_explore_starts_the_api_beside_the_explorer_and_stops_it_when_it_stops(published):
    port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != snippets.API_URL_ENV}
    process = subprocess.Popen([sys.executable, "-m", "catalog.cli", "explore", "--home", str(published), "--port",
                                str(port), "--api-port", str(api_port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{api_port}/healthz", process)
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/downloads/ledger@1.csv", timeout=10) as answer:
            assert answer.read().decode("utf-8").startswith("id,payee,note")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert f"govcat API: http://127.0.0.1:{api_port}" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=2)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
