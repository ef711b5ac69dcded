"""The DSM 7 login handshake as the ``synology-api`` client performs it (research §1).

- ``SYNO.API.Auth.UIConfig`` sets the ``_SSID`` cookie: a real X25519 public key (the client
  starts a Noise IK handshake with it; the server may ignore the result);
- ``SYNO.API.Encryption`` ``getinfo`` hands out an RSA-4096 modulus (the client RSA-encrypts a
  501-byte passphrase, so 4096 bits is the minimum);
- the login form carries ``__cIpHeRtExT`` = ``{"rsa": …, "aes": …}``: the passphrase under RSA
  PKCS#1 v1.5, and the credentials under OpenSSL-compatible AES-256-CBC (EVP_BytesToKey/MD5).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CIPHER_KEY = "__cIpHeRtExT"
CIPHER_TOKEN = "__cIpHeRtOkEn"

_lock = threading.Lock()
_rsa_key: rsa.RSAPrivateKey | None = None


def rsa_key() -> rsa.RSAPrivateKey:
    """The process's RSA-4096 key, generated once (it takes a fraction of a second)."""
    global _rsa_key
    with _lock:
        if _rsa_key is None:
            _rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
        return _rsa_key


def public_key_hex() -> str:
    return format(rsa_key().public_key().public_numbers().n, "x")


def b64url(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "-").replace("/", "_").rstrip("=")


def new_ssid() -> str:
    """A fresh X25519 public key in the ``_SSID`` cookie's form."""
    public = X25519PrivateKey.generate().public_key()
    return b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def decrypt_login(blob: str) -> dict[str, str]:
    """The credential fields inside ``__cIpHeRtExT``; ValueError when it cannot be read."""
    try:
        wrapped = json.loads(blob)
        passphrase = rsa_key().decrypt(base64.b64decode(wrapped["rsa"]), padding.PKCS1v15())
        data = base64.b64decode(wrapped["aes"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable login cipher: {exc}") from None
    if data[:8] != b"Salted__" or len(data) < 32:
        raise ValueError("unreadable login cipher: no OpenSSL salt header")
    salt = data[8:16]
    derived = block = b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    plain = decryptor.update(data[16:]) + decryptor.finalize()
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= 16:
        raise ValueError("unreadable login cipher: bad padding")
    fields = urllib.parse.parse_qs(plain[:-pad].decode("utf-8", "replace"),
                                   keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}
