"""Real servers for the end-to-end tests, run as subprocesses on 127.0.0.1 free ports.

- ``start_steady``: Steady (``@stdy/cli``), an OpenAPI mock that validates every request against the
  unmodified OpenAI spec (``tests/vendor/openai-openapi/openai-openapi.yaml``, MIT, vendored) and answers 400 to an
  invalid one. scripts/setup.sh installs it into ``.cache/npm-tools``.
- ``start_nginx``: Debian's nginx in the foreground (``daemon off``) with a temp prefix, serving
  fixed bodies from ``tests/fixtures``; ``make_tls_material`` makes a CA and server certs with the
  ``openssl`` CLI.

Each server waits until it is ready (or raises with its log) and is stopped by ``stop()``, which
kills its whole process group. A missing binary skips the test with the reason, except under CI
(``CI=true``), where it fails: there scripts/setup.sh must have installed it.

bench/run.py reuses ``start_nginx``; this module imports pytest only when it has to skip or fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
OPENAI_SPEC = REPO / "tests" / "vendor" / "openai-openapi" / "openai-openapi.yaml"
NPM_TOOLS = REPO / ".cache" / "npm-tools"
STEADY_VERSION = "0.22.2"  # keep in sync with scripts/setup.sh


def unavailable(reason: str) -> None:
    """Skips the calling test, or fails it under CI, where every server must run."""
    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: scripts/setup.sh must install it)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/setup.sh")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A server subprocess in its own session, with its output in ``log_path``."""

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Optional[Path] = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, ready: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready:\n"
                    f"{' '.join(self.argv)}\n{self.log_text()[-4000:]}"
                )
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {timeout}s:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


# --- Steady -------------------------------------------------------------------------------------


def find_steady() -> Optional[list[str]]:
    """The native Steady binary (no node wrapper in between, so stop() reaches it), or None."""
    native = NPM_TOOLS / "node_modules" / "@stdy" / "cli-linux-x64" / "bin" / "steady"
    if native.is_file() and os.access(native, os.X_OK):
        return [str(native)]
    wrapper = NPM_TOOLS / "node_modules" / ".bin" / "steady"
    if wrapper.exists():
        return [str(wrapper)]
    on_path = shutil.which("steady")
    return [on_path] if on_path else None


class Steady(ServerProcess):
    """Steady on the OpenAI spec, logging one JSON line per request (``requests()``)."""

    base_url: str

    def requests(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("type") == "request":
                    entries.append(entry)
        return entries

    def requests_since(self, count: int, expect: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The request entries after the first ``count``, waiting until ``expect`` are logged."""
        deadline = time.monotonic() + timeout
        while True:
            new = self.requests()[count:]
            if len(new) >= expect or time.monotonic() > deadline:
                return new
            time.sleep(0.02)


def start_steady(workdir: Path, spec: Path = OPENAI_SPEC) -> Steady:
    argv = find_steady()
    if argv is None:
        unavailable(f"Steady (@stdy/cli {STEADY_VERSION}) is not installed in {NPM_TOOLS}")
        raise AssertionError("unreachable")
    if not spec.is_file():
        unavailable(f"the OpenAI spec is missing: {spec}")
    port = free_port()
    steady = Steady(
        "steady",
        argv + ["--host", "127.0.0.1", "-p", str(port), "--log-format", "json", "--no-color", str(spec)],
        workdir / "steady.log",
    )
    steady.base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{steady.base_url}/_x-steady/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    steady.wait_ready(healthy, timeout=30)
    return steady


# --- nginx and TLS material ---------------------------------------------------------------------


def find_nginx() -> Optional[str]:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def render(template: Path, out: Path, **values: Any) -> Path:
    """Writes ``template`` with each ``@@KEY@@`` replaced; a placeholder left over is an error."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", str(value))
    if "@@" in text:
        start = text.index("@@")
        raise ValueError(f"{template}: no value for {text[start : text.index('@@', start + 2) + 2]}")
    out.write_text(text)
    return out


def start_nginx(conf_template: Path, prefix: Path, ports: list[int], **values: Any) -> ServerProcess:
    """Renders ``conf_template`` (plus ``PREFIX``/``USER``) into ``prefix`` and runs nginx on it."""
    nginx = find_nginx()
    if nginx is None:
        unavailable("nginx is not installed (Debian package nginx-light)")
        raise AssertionError("unreachable")
    prefix.mkdir(parents=True, exist_ok=True)
    # Workers of a root master drop to `nobody`, who cannot read a 0700 temp dir: stay root.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = render(conf_template, prefix / "nginx.conf", PREFIX=prefix, USER=user, **values)
    server = ServerProcess(
        "nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")], prefix / "stdout.log"
    )

    def listening() -> bool:
        return all(port_open(p) for p in ports)

    try:
        server.wait_ready(listening, timeout=15)
    except RuntimeError as e:
        err = (prefix / "error.log").read_text(errors="replace") if (prefix / "error.log").exists() else ""
        raise RuntimeError(f"{e}\nerror.log:\n{err[-4000:]}") from None
    return server


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        unavailable("the openssl CLI is not installed (Debian package openssl)")
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stderr}")


def make_tls_material(directory: Path) -> dict[str, Path]:
    """A throw-away CA, a server cert for 127.0.0.1/localhost, and one for wrong.invalid only.

    Returns paths: ca, cert, key, wrong_cert, wrong_key.
    """
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=llmfailover test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )
    for name, san in (("server", "IP:127.0.0.1,DNS:localhost"), ("wrong", "DNS:wrong.invalid")):
        (d / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
        )
        cn = "127.0.0.1" if name == "server" else "wrong.invalid"
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
            cwd=d,
        )
    return {
        "ca": d / "ca.pem",
        "cert": d / "server.pem",
        "key": d / "server.key",
        "wrong_cert": d / "wrong.pem",
        "wrong_key": d / "wrong.key",
    }


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
