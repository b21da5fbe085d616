"""Real servers for the deploy tests: each WSGI server, and nginx in front of treadle, run as
subprocesses on free 127.0.0.1 ports, serving examples/notes. Start waits for a 200 from the
app (polling, with a deadline); stop sends SIGTERM to the process group, SIGKILL after a deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tls_files import write_self_signed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "notes"
BIN = Path(sys.executable).parent
START_TIMEOUT = 45.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
READY_PATH = "/api/whoami"
SECRET_KEY = "deploy-tests-shared-secret"

# How each server serves examples/notes/wsgi.py's ``app`` on 127.0.0.1:{port}, from EXAMPLE.
# docs/deploy.md shows these command lines; keep the two in step.
SERVERS: dict[str, list[str]] = {
    "treadle-threaded": [
        "{python}", "-m", "treadle.serving", "--threaded", "--host", "127.0.0.1",
        "--port", "{port}", "wsgi:app",
    ],
    "treadle-processes": [
        "{python}", "-m", "treadle.serving", "--processes", "2", "--threads", "4",
        "--host", "127.0.0.1", "--port", "{port}", "wsgi:app",
    ],
    # systemd socket activation: the listening socket is inherited, as fd 3 under systemd.
    "treadle-inherited-fd": [
        "{python}", "-m", "treadle.serving", "--fd", "{fd}", "--processes", "2", "wsgi:app",
    ],
    "gunicorn-sync": [
        "gunicorn", "--chdir", "{example}", "--bind", "127.0.0.1:{port}",
        "--workers", "2", "--worker-class", "sync", "wsgi:app",
    ],
    "gunicorn-gthread": [
        "gunicorn", "--chdir", "{example}", "--bind", "127.0.0.1:{port}",
        "--workers", "2", "--worker-class", "gthread", "--threads", "4", "wsgi:app",
    ],
    "uwsgi-http": [
        "uwsgi", "--master", "--die-on-term", "--need-app", "--http", "127.0.0.1:{port}",
        "--chdir", "{example}", "--module", "wsgi:app", "--processes", "2", "--threads", "2",
    ],
    "uwsgi-http-socket": [
        "uwsgi", "--master", "--die-on-term", "--need-app", "--http-socket", "127.0.0.1:{port}",
        "--chdir", "{example}", "--module", "wsgi:app", "--processes", "2", "--threads", "2",
    ],
    "waitress": [
        "waitress-serve", "--listen=127.0.0.1:{port}", "--threads=4", "wsgi:app",
    ],
    "granian": [
        "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", "{port}",
        "--workers", "2", "--working-dir", "{example}", "wsgi:app",
    ],
}  # fmt: skip

# The nginx site in front of treadle: the app is mounted at PREFIX, and trusts one proxy hop.
NGINX = "/usr/sbin/nginx"
NGINX_PREFIX = "/notes"
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 20m;

    upstream notes_app {{
        server 127.0.0.1:{backend_port};
    }}

    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;

        location {prefix}/ {{
            proxy_pass http://notes_app/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Prefix {prefix};
        }}
    }}
}}
"""


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Servers that cannot be installed on a free-threaded interpreter here, and why.
NOT_ON_FREE_THREADED = {
    "granian": "granian has no free-threaded 3.13t wheel and its Rust build needs crates.io,"
    " which these machines cannot reach",
}


def executable(name: str) -> str:
    """The program from this venv, else from PATH; a failure says how to install it."""
    if name == "{python}":
        return sys.executable
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None and name in NOT_ON_FREE_THREADED and sysconfig.get_config_var("Py_GIL_DISABLED"):
        pytest.skip(NOT_ON_FREE_THREADED[name])
    if found is None:
        raise AssertionError(
            f"{name} is not installed: pip install -e '.[test]' installs the WSGI servers; "
            "nginx comes from the system (apt-get install nginx-light)."
        )
    return found


def command(name: str, port: int, fd: int = -1) -> list[str]:
    """The command line of server ``name`` listening on ``port`` (or the inherited ``fd``)."""
    argv = [
        arg.format(port=port, fd=fd, example=EXAMPLE, python=sys.executable)
        for arg in SERVERS[name]
    ]
    return [executable(SERVERS[name][0]), *argv[1:]]


def probe(host: str, port: int, path: str) -> int | None:
    """The status of one GET, or None if nothing answers yet."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


class ServerProcess:
    """One server process in its own process group, logging to a file."""

    def __init__(
        self, argv: list[str], log_path: Path, env: dict[str, str], pass_fds: tuple[int, ...] = ()
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=EXAMPLE,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=pass_fds,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_until_serving(self, port: int, path: str, deadline: float) -> None:
        """Poll ``path`` on ``port`` until it answers 200; fail with the log if it never does."""
        status = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.argv[0]} exited with {self.proc.returncode} before serving:\n{self.log()}"
                )
            status = probe("127.0.0.1", port, path)
            if status == 200:
                return
            time.sleep(POLL_INTERVAL)
        raise AssertionError(
            f"{' '.join(self.argv)} did not answer GET {path} with 200 in {START_TIMEOUT:.0f}s "
            f"(last status {status}):\n{self.log()}"
        )

    def stop(self) -> int:
        """SIGTERM the group, SIGKILL it if still running after STOP_TIMEOUT; the exit status."""
        self._signal_group(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            code = self.proc.wait(STOP_TIMEOUT)
        # Workers a crashed supervisor left behind are in the same group.
        self._signal_group(signal.SIGKILL)
        return code

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)


def notes_env(instance: Path, proxy_hops: int = 0) -> dict[str, str]:
    """The environment that points the notes app at ``instance`` for its data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTES_", "TREADLE_"))}
    env.update(
        NOTES_SECRET_KEY=SECRET_KEY,
        NOTES_DATABASE=str(instance / "notes.sqlite"),
        NOTES_UPLOAD_FOLDER=str(instance / "uploads"),
        NOTES_PROXY_FIX_HOPS=str(proxy_hops),
        PYTHONUNBUFFERED="1",
    )
    return env


def init_db(env: dict[str, str]) -> None:
    """Create the tables with the app's own ``init-db`` command."""
    result = subprocess.run(
        [executable("treadle"), "--app", "notes", "init-db"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Site:
    """The notes app served at ``base_url`` (``prefix`` is where it is mounted)."""

    base_url: str
    prefix: str = ""
    processes: list[ServerProcess] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def start_server(name: str, tmp: Path) -> Site:
    """Serve the notes app with server ``name``; ready when it returns."""
    env = notes_env(tmp)
    init_db(env)
    deadline = time.monotonic() + START_TIMEOUT
    if "{fd}" in SERVERS[name]:
        # Bound and listening before the server starts, as systemd's socket unit does.
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            fd = listener.fileno()
            process = ServerProcess(command(name, port, fd), tmp / f"{name}.log", env, (fd,))
    else:
        port = free_port()
        process = ServerProcess(command(name, port), tmp / f"{name}.log", env)
    site = Site(f"http://127.0.0.1:{port}", processes=[process], ports={"http": port})
    try:
        process.wait_until_serving(port, READY_PATH, deadline)
    except BaseException:
        site.stop()
        raise
    return site


def write_certificate(tmp: Path) -> None:
    """A self-signed certificate for 127.0.0.1 in tmp/cert.pem and tmp/key.pem."""
    write_self_signed(tmp)


def start_nginx_site(tmp: Path) -> Site:
    """Treadle's threaded server behind nginx at /notes/, on an HTTP and an HTTPS port."""
    if not os.path.exists(NGINX):
        executable("nginx")
    env = notes_env(tmp, proxy_hops=1)
    init_db(env)
    backend_port, http_port, https_port = free_port(), free_port(), free_port()
    deadline = time.monotonic() + START_TIMEOUT
    backend = ServerProcess(
        command("treadle-threaded", backend_port), tmp / "treadle-backend.log", env
    )
    site = Site(
        f"http://127.0.0.1:{http_port}{NGINX_PREFIX}",
        prefix=NGINX_PREFIX,
        processes=[backend],
        ports={"backend": backend_port, "http": http_port, "https": https_port},
    )
    try:
        backend.wait_until_serving(backend_port, READY_PATH, deadline)
        write_certificate(tmp)
        conf = tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                tmp=tmp,
                # As root, nginx's workers would drop to "nobody" and lose the temp dirs.
                user="user root;" if os.geteuid() == 0 else "",
                backend_port=backend_port,
                http_port=http_port,
                https_port=https_port,
                prefix=NGINX_PREFIX,
            )
        )
        nginx = ServerProcess(
            [NGINX, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf)],
            tmp / "nginx.log",
            env,
        )
        site.processes.append(nginx)
        nginx.wait_until_serving(http_port, NGINX_PREFIX + READY_PATH, deadline)
    except BaseException:
        site.stop()
        raise
    return site
