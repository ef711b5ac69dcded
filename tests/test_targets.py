"""Target addresses: a NAS over HTTPS with its self-signed certificate, IPv6 literals for rpc
and nas targets, and each bad address or missing secret refused in one line."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conformance.cli import main
from conformance.targets.nas import NasTarget
from sim.synology import Nas, NasServer, load_seed

ROOT = Path(__file__).parents[1]
SEED = ROOT / "fixtures" / "nas" / "default.yaml"
PASSWORD = "Admin-Pass-1"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and ::1 signed by its own key, as DSM makes one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncrig test NAS")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "nas.pem", folder / "nas.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TlsFront:
    """HTTPS in front of the emulator, as DSM serves 5001 beside 5000: TLS ends here and the
    bytes go on to the emulator's HTTP port unchanged."""

    def __init__(self, backend: int, context: ssl.SSLContext, host: str) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError, ssl.SSLError):
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
            with suppress(ConnectionError, ssl.SSLError, RuntimeError):
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start() -> None:
            self.server = await asyncio.start_server(handle, host, 0, ssl=context)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        ready.wait(10)

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 5)
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def nas(tmp_path: Path) -> Iterator[NasServer]:
    emulator = Nas(tmp_path / "nas", load_seed(SEED))
    server = NasServer(emulator).start()
    yield server
    server.stop()
    emulator.store.close()


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture(params=["127.0.0.1", "::1"])
def https_nas(request: pytest.FixtureRequest, nas: NasServer,
              cert: tuple[Path, Path]) -> Iterator[tuple[str, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    front = TlsFront(nas.port, context, request.param)
    yield request.param, front.port
    front.stop()


def test_an_https_nas_is_trusted_by_its_certificate(https_nas: tuple[str, int],
                                                    cert: tuple[Path, Path]) -> None:
    host, port = https_nas
    target = NasTarget(host, port, "admin", PASSWORD, secure=True, verify=str(cert[0]),
                       read_only=True)
    try:
        reply = target.call("list_conn")
        assert reply["success"] is True
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        assert target.base == f"https://{netloc}/webapi/entry.cgi"
    finally:
        target.close()


def test_an_https_nas_is_verified_against_the_system_cas(https_nas: tuple[str, int]) -> None:
    host, port = https_nas
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        NasTarget(host, port, "admin", PASSWORD, secure=True)


def test_an_unverified_https_nas_is_an_explicit_choice(https_nas: tuple[str, int]) -> None:
    host, port = https_nas
    target = NasTarget(host, port, "admin", PASSWORD, secure=True, verify=False,
                       read_only=True)
    try:
        assert target.call("get_config")["success"] is True
    finally:
        target.close()


def test_a_nas_target_without_a_password_says_which_variable() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "no password for user 'admin' on https://[::1]:5001 (set $SYNCRIG_NAS_PASSWORD)")):
        NasTarget("::1", 5001, "admin", "", secure=True)


def test_conformance_against_an_https_nas_from_the_command_line(
        https_nas: tuple[str, int], cert: tuple[Path, Path], tmp_path: Path) -> None:
    """What a user types for DSM's HTTPS port with its self-signed certificate exported."""
    host, port = https_nas
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "conformance", "--target",
         f"nas=https://{netloc}", "--nas-cert", str(cert[0]), "--read-only",
         "--examples", "2", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "SYNCRIG_NAS_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["target"] == f"nas=https://{netloc}"
    (campaign,) = json.loads((run_dir / "matrix.json").read_text())["campaigns"]
    assert (campaign["campaign"], campaign["ok"]) == ("SYNO.CloudSync", True)


def test_conformance_over_rpc_to_an_ipv6_literal(tmp_path: Path) -> None:
    """``syncrig serve rpc --host ::1`` and ``--target rpc=[::1]:PORT``: the literal is
    connected to, not handed to the resolver with its brackets."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SYNCRIG_RPC_TOKEN": "t" * 24}
    serving = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "rpc",
                                "--host", "::1", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert serving.stdout is not None
        banner = serving.stdout.readline()
        port = re.search(r"\[::1\]:(\d+)", banner)
        assert port is not None, banner
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "conformance", "--target",
             f"rpc=[::1]:{port[1]}", "--api", "request", "--examples", "1", "--steps", "2",
             "--out", str(tmp_path)],
            capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        (run_dir,) = tmp_path.iterdir()
        assert json.loads((run_dir / "run.json").read_text())["target"] == \
            f"rpc=[::1]:{port[1]}"
    finally:
        serving.terminate()
        serving.communicate(timeout=30)


NOT_PEM = "not a certificate\n"


@pytest.mark.parametrize(("args", "env", "line"), [
    (["--target", "nas=https://127.0.0.1:5001"], {},
     "syncrig: error: $SYNCRIG_NAS_PASSWORD is not set: set it to the password of 'admin' "
     "(--nas-user) on the NAS"),
    (["--target", "nas=https://127.0.0.1:5001", "--nas-user", "ops"], {"PW": ""},
     "syncrig: error: $SYNCRIG_NAS_PASSWORD is not set: set it to the password of 'ops' "
     "(--nas-user) on the NAS"),
    (["--target", "nas=https://127.0.0.1:5001", "--nas-cert", "{tmp}/absent.pem"], {"PW": "x"},
     "syncrig: error: --nas-cert: no such file (got '{tmp}/absent.pem')"),
    (["--target", "nas=https://127.0.0.1:5001"], {"PW": "x", "CERT": "{tmp}/absent.pem"},
     "syncrig: error: --nas-cert: no such file (got '{tmp}/absent.pem')"),
    (["--target", "nas=http://127.0.0.1:5000", "--nas-insecure"], {"PW": "x"},
     "syncrig: error: --nas-insecure: applies to an https NAS only "
     "(got 'nas=http://127.0.0.1:5000')"),
    (["--target", "nas=https://[::1:5001"], {"PW": "x"},
     "syncrig: error: --target: nas: an IPv6 address goes in brackets, as in "
     "nas=https://[::1]:PORT (must be nas=http://HOST:PORT or nas=https://HOST:PORT) "
     "(got 'https://[::1:5001')"),
    (["--target", "nas=https://nas:5001/webapi"], {"PW": "x"},
     "syncrig: error: --target: nas: must be nas=http://HOST:PORT or nas=https://HOST:PORT "
     "(got 'https://nas:5001/webapi')"),
    (["--target", "nas=https://[::g]:5001"], {"PW": "x"},
     "syncrig: error: --target: nas: [::g] is not an IPv6 address (must be "
     "nas=http://HOST:PORT or nas=https://HOST:PORT) (got 'https://[::g]:5001')"),
    (["--target", "rpc=::1:7300"], {},
     "syncrig: error: --target: rpc: an IPv6 address goes in brackets, as in rpc=[::1]:PORT "
     "(must be rpc=HOST:PORT) (got '::1:7300')"),
    (["--target", "rpc=[::1]]:7300"], {},
     "syncrig: error: --target: rpc: [::1]] is not an IPv6 address (must be rpc=HOST:PORT) "
     "(got '[::1]]:7300')"),
    (["--target", "rpc=no host:7300"], {},
     "syncrig: error: --target: rpc: no host is not a host name or address (must be "
     "rpc=HOST:PORT) (got 'no host:7300')"),
    (["--target", "ftp://x"], {},
     "syncrig: error: --target: must be reference, nas=http://HOST:PORT, "
     "nas=https://HOST:PORT or rpc=HOST:PORT (got 'ftp://x')"),
])
def test_a_bad_target_is_one_line(args: list[str], env: dict[str, str], line: str,
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SYNCRIG_NAS_PASSWORD", raising=False)
    monkeypatch.delenv("SYNCRIG_NAS_CERT", raising=False)
    if "PW" in env:
        monkeypatch.setenv("SYNCRIG_NAS_PASSWORD", env["PW"])
    if "CERT" in env:
        monkeypatch.setenv("SYNCRIG_NAS_CERT", env["CERT"].format(tmp=tmp_path))
    out = tmp_path / "out"
    status = main(["conformance", *(a.format(tmp=tmp_path) for a in args), "--out", str(out)])
    assert status == 2
    assert capsys.readouterr().err == line.format(tmp=tmp_path) + "\n"
    assert not out.exists()


def test_a_nas_cert_that_is_not_pem_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SYNCRIG_NAS_PASSWORD", "x")
    bad = tmp_path / "notes.txt"
    bad.write_text(NOT_PEM)
    status = main(["conformance", "--target", "nas=https://127.0.0.1:5001", "--nas-cert",
                   str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1
    assert err.startswith("syncrig: error: --nas-cert: not a PEM file of certificates (")
    assert err.endswith(f"(got '{bad}')\n")


def test_the_cert_and_no_verification_exclude_each_other(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["conformance", "--target", "nas=https://127.0.0.1:5001", "--nas-cert", "a.pem",
              "--nas-insecure"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "syncrig conformance: error: argument --nas-insecure: not allowed with argument "
        "--nas-cert")
