"""The fixture HTTP server's faults, observed through libcurl (the client the platform uses)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pycurl
import pytest

from sim.servers import FixtureHTTPServer

SIZE = 300_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureHTTPServer]:
    root = tmp_path_factory.mktemp("www")
    (root / "blob.bin").write_bytes(os.urandom(SIZE))
    (root / "page.html").write_text("<p>hi</p>")
    with FixtureHTTPServer(root) as srv:
        yield srv


def fetch(url: str, **opts: object) -> tuple[int, bytes, dict[str, str], int]:
    """(curl error code, body, headers, HTTP status) of one request."""
    body, headers = io.BytesIO(), {}

    def header(line: bytes) -> None:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()

    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, header)
    for key, value in opts.items():
        c.setopt(getattr(pycurl, key), value)
    code = 0
    try:
        c.perform()
    except pycurl.error as exc:
        code = exc.args[0]
    status = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()
    return code, body.getvalue(), headers, status


def test_static_file_with_length_etag_and_type(server: FixtureHTTPServer) -> None:
    source = (server.root / "blob.bin").read_bytes()
    code, body, headers, status = fetch(f"{server.url}/files/blob.bin")
    assert (code, status, body) == (0, 200, source)
    assert headers["content-length"] == str(SIZE) and headers["etag"].startswith('"')
    _, _, page_headers, _ = fetch(f"{server.url}/files/page.html")
    assert page_headers["content-type"].startswith("text/html")


def test_head_gives_the_length_without_a_body(server: FixtureHTTPServer) -> None:
    code, body, headers, status = fetch(f"{server.url}/files/blob.bin", NOBODY=1)
    assert (code, status, body, headers["content-length"]) == (0, 200, b"", str(SIZE))


def test_range_requests(server: FixtureHTTPServer) -> None:
    source = (server.root / "blob.bin").read_bytes()
    code, body, headers, status = fetch(f"{server.url}/files/blob.bin", RESUME_FROM=1000)
    assert (code, status, body) == (0, 206, source[1000:])
    assert headers["content-range"] == f"bytes 1000-{SIZE - 1}/{SIZE}"
    _, body, _, status = fetch(f"{server.url}/files/blob.bin", RANGE="10-19")
    assert (status, body) == (206, source[10:20])
    _, _, headers, status = fetch(f"{server.url}/files/blob.bin", RANGE=f"{SIZE}-")
    assert (status, headers["content-range"]) == (416, f"bytes */{SIZE}")


def test_a_server_that_ignores_range_makes_curl_fail_the_resume(server: FixtureHTTPServer) -> None:
    code, _, _, status = fetch(f"{server.url}/files/blob.bin?ignore_range=1", RESUME_FROM=1000)
    assert (code, status) == (pycurl.E_RANGE_ERROR, 200)


def test_dropped_connection_after_n_bytes(server: FixtureHTTPServer) -> None:
    source = (server.root / "blob.bin").read_bytes()
    code, body, _, status = fetch(f"{server.url}/files/blob.bin?drop_after=70000")
    assert (code, status) == (pycurl.E_PARTIAL_FILE, 200)
    assert body == source[:70000]


def test_redirect_chain_and_loop(server: FixtureHTTPServer) -> None:
    source = (server.root / "blob.bin").read_bytes()
    code, body, _, status = fetch(f"{server.url}/redirect/3/files/blob.bin", FOLLOWLOCATION=1)
    assert (code, status, body) == (0, 200, source)
    code, _, _, status = fetch(f"{server.url}/loop", FOLLOWLOCATION=1, MAXREDIRS=5)
    assert (code, status) == (pycurl.E_TOO_MANY_REDIRECTS, 302)


@pytest.mark.parametrize("status", [204, 301, 404, 418, 500, 503])
def test_any_status(server: FixtureHTTPServer, status: int) -> None:
    code, _, _, got = fetch(f"{server.url}/status/{status}")
    assert (code, got) == (0, status)


def test_chunked_body_has_no_length(server: FixtureHTTPServer) -> None:
    source = (server.root / "blob.bin").read_bytes()
    code, body, headers, status = fetch(f"{server.url}/chunked/blob.bin")
    assert (code, status, body) == (0, 200, source)
    assert "content-length" not in headers and headers["transfer-encoding"] == "chunked"


def test_throttled_body_takes_its_time(server: FixtureHTTPServer) -> None:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"{server.url}/files/blob.bin?rate=1000000")
    c.setopt(pycurl.WRITEDATA, io.BytesIO())
    c.perform()
    assert c.getinfo(pycurl.TOTAL_TIME) >= 0.25  # 300 kB at 1 MB/s
    c.close()


def test_slow_headers_trip_a_short_timeout(server: FixtureHTTPServer) -> None:
    code, _, _, _ = fetch(f"{server.url}/files/blob.bin?delay_headers=2", TIMEOUT_MS=300)
    assert code == pycurl.E_OPERATION_TIMEDOUT


def test_multipart_upload_is_stored_and_answered(server: FixtureHTTPServer, tmp_path: Path) -> None:
    payload = os.urandom(50_000)
    (tmp_path / "photo.jpg").write_bytes(payload)
    before = len(server.received)
    done = subprocess.run(
        ["curl", "-s", "-D", "-", "-F", "title=holiday",
         "-F", f"file=@{tmp_path / 'photo.jpg'};type=image/jpeg",
         f"{server.url}/upload?reply_header=X-Test:yes&reply_body=done"],
        capture_output=True, text=True, check=True)
    assert done.stdout.startswith("HTTP/1.1 200")
    assert "X-Test: yes" in done.stdout and done.stdout.endswith("\n\ndone")
    record = server.received[before]
    assert record.fields == {"title": "holiday"}
    (part,) = record.files
    assert (part["name"], part["filename"], part["content_type"], part["size"]) == (
        "file", "photo.jpg", "image/jpeg", 50_000)
    assert part["sha256"] == hashlib.sha256(payload).hexdigest()
    assert Path(str(part["stored"])).read_bytes() == payload


def test_put_upload_stores_the_raw_body(server: FixtureHTTPServer) -> None:
    payload = os.urandom(10_000)
    code, _, _, status = fetch(f"{server.url}/upload?status=201", UPLOAD=1,
                               READDATA=io.BytesIO(payload), INFILESIZE=len(payload))
    assert (code, status) == (0, 201)
    assert server.received[-1].method == "PUT"
    assert server.received[-1].files[0]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_an_upload_dropped_mid_body_is_recorded_incomplete(server: FixtureHTTPServer) -> None:
    payload = os.urandom(300_000)
    code, _, _, _ = fetch(f"{server.url}/upload?drop_after=1000", UPLOAD=1,
                          READDATA=io.BytesIO(payload), INFILESIZE=len(payload))
    assert code != 0  # the connection went away: libcurl reports an error, not an answer
    assert server.received[-1].incomplete == "dropped after 1000 bytes"
    assert server.received[-1].files == []


def test_unknown_files_and_escapes_are_404(server: FixtureHTTPServer) -> None:
    assert fetch(f"{server.url}/files/missing.bin")[3] == 404
    assert fetch(f"{server.url}/files/..%2F..%2Fetc%2Fpasswd")[3] == 404


@pytest.mark.parametrize(("query", "reason"), [
    ("rate=abc", "rate must be a non-negative number, got 'abc'"),
    ("rate=-5", "rate must be a non-negative number, got '-5'"),
    ("drop_after=1e3", "drop_after must be a non-negative integer, got '1e3'"),
    ("drop_after=%D9%A3", "drop_after must be a non-negative integer, got '\u0663'"),
    ("delay_headers=abc", "delay_headers must be a non-negative number within 0..3600, "
                          "got 'abc'"),
])
@pytest.mark.parametrize("route", ["files", "chunked"])
def test_a_bad_fault_value_is_400_before_any_byte(server: FixtureHTTPServer, route: str,
                                                  query: str, reason: str) -> None:
    code, body, headers, status = fetch(f"{server.url}/{route}/blob.bin?{query}")
    # a whole 400 with the reason as its body: no 200, no part of the file, no traceback
    assert (code, status, body.decode()) == (0, 400, reason + "\n")
    assert headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(("query", "reason"), [
    ("status=abc", "status must be a status code within 100..599, got 'abc'"),
    ("status=600", "status must be a status code within 100..599, got '600'"),
    ("reply_header=X-Bad%0D%0AInjected:1", "reply_header must be Name:Value, got "
                                           "'X-Bad\\r\\nInjected:1'"),
    ("reply_header=:novalue", "reply_header must be Name:Value, got ':novalue'"),
])
def test_a_bad_upload_reply_is_400_and_nothing_is_stored(server: FixtureHTTPServer,
                                                         query: str, reason: str) -> None:
    before = len(server.received)
    code, body, _, status = fetch(f"{server.url}/upload?{query}", UPLOAD=1,
                                  READFUNCTION=io.BytesIO(b"data").read, INFILESIZE=4)
    assert (code, status, body.decode()) == (0, 400, reason + "\n")
    assert len(server.received) == before


@pytest.mark.parametrize(("headers", "reason"), [
    (["Content-Type: multipart/form-data; boundary=xx"], "incomplete upload"),  # plain body
    (["Content-Type: application/octet-stream", "Content-Encoding: gzip"],
     "unreadable upload: not gzip: Error -3 while decompressing data: incorrect header check"),
    (["Content-Type: application/octet-stream", "Content-Encoding: deflate"],
     "unreadable upload: not deflate: Error -3 while decompressing data: invalid stored "
     "block lengths"),  # read as raw deflate
    (["Content-Type: application/octet-stream", "Content-Encoding: br"],
     "unreadable upload: Content-Encoding 'br' is not gzip, deflate or identity"),
    (["Content-Type: multipart/form-data; boundary=xx", "Content-Encoding: gzip"],
     "unreadable upload: a multipart body under Content-Encoding 'gzip': send its parts as "
     "they are"),
], ids=["multipart-plain", "false-gzip", "false-deflate", "brotli", "multipart-gzip"])
def test_an_unreadable_upload_body_is_400_and_recorded(server: FixtureHTTPServer,
                                                       headers: list[str], reason: str) -> None:
    before = len(server.received)
    code, body, _, status = fetch(f"{server.url}/upload", POSTFIELDS=b"hello plain body",
                                  HTTPHEADER=headers, TIMEOUT=30)
    assert (code, status, body.decode()) == (0, 400, reason + "\n")
    (record,) = server.received[before:]
    assert record.incomplete and record.files == []


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, deflate"])
def test_a_compressed_raw_upload_is_stored_decoded(server: FixtureHTTPServer,
                                                   encoding: str) -> None:
    payload = os.urandom(100_000) + bytes(400_000)
    body = {"gzip": lambda: gzip.compress(payload),
            "deflate": lambda: zlib.compress(payload),
            "raw-deflate": lambda: zlib.compress(payload)[2:-4],
            "gzip, deflate": lambda: zlib.compress(gzip.compress(payload))}[encoding]()
    header = "deflate" if encoding == "raw-deflate" else encoding
    code, _, _, status = fetch(f"{server.url}/upload", UPLOAD=1, READDATA=io.BytesIO(body),
                               INFILESIZE=len(body), TIMEOUT=30,
                               HTTPHEADER=[f"Content-Encoding: {header}"])
    assert (code, status) == (0, 200)
    (part,) = server.received[-1].files
    assert (part["size"], part["sha256"]) == (len(payload), hashlib.sha256(payload).hexdigest())


def test_a_file_name_that_cannot_be_one_is_404(server: FixtureHTTPServer) -> None:
    for name in ("a%00b", "x" * 5000):
        _, body, _, status = fetch(f"{server.url}/files/{name}")
        assert status == 404 and body.startswith(b"no such file: ")
    _, _, _, status = fetch(f"{server.url}/status/%D9%A3%D9%A0%D9%A0")  # Arabic-Indic 300
    assert status == 404
