"""Passphrase-sealed server exports: the JSON envelope that carries real secrets between installs.

A plain export masks every env value and header, so it cannot move a server to another
installation. A sealed export keeps them, encrypted under a key derived from a passphrase the
user types (scrypt), with AES-256-GCM. The envelope is versioned JSON::

    {"format": "mcp-orch-sealed-export", "version": 1,
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<b64>"},
     "cipher": {"name": "AES-256-GCM", "nonce": "<b64>"},
     "check": "<b64>", "ciphertext": "<b64>"}

scrypt yields 64 bytes: the AES key and a separate key whose HMAC over a fixed label is
``check``. That tells a mistyped passphrase (``check`` differs) from a file changed after
sealing (GCM refuses it); the header fields are the GCM associated data, so changing the KDF
parameters or the format is caught too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

FORMAT = "mcp-orch-sealed-export"
VERSION = 1
MIN_PASSPHRASE_LENGTH = 8
MAX_PASSPHRASE_LENGTH = 1024
# 32 MiB and about a tenth of a second per derivation: costly to guess, cheap to use once.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
# Bounds on what an envelope may ask for, so a crafted file cannot make the server spend
# gigabytes of memory deriving a key.
_MAX_SCRYPT_N = 2**17
_MAX_SCRYPT_R = 16
_MAX_SCRYPT_P = 4
_CHECK_LABEL = b"mcp-orch sealed export passphrase check"


class SealError(ValueError):
    """The envelope cannot be opened; ``str()`` is written for the person importing it."""


class WrongPassphrase(SealError):
    pass


class TamperedEnvelope(SealError):
    pass


def is_sealed(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == FORMAT


def check_passphrase(passphrase: Any) -> str:
    if not isinstance(passphrase, str) or not passphrase:
        raise SealError("Enter the passphrase of the encrypted export.")
    if len(passphrase) > MAX_PASSPHRASE_LENGTH:
        raise SealError(f"The passphrase is longer than {MAX_PASSPHRASE_LENGTH} characters.")
    return passphrase


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TamperedEnvelope(f"The encrypted export is damaged: {what} is missing.")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise TamperedEnvelope(f"The encrypted export is damaged: {what} is not base64.") from exc


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return material[:32], material[32:]


def _check_value(check_key: bytes) -> bytes:
    return hmac.new(check_key, _CHECK_LABEL, hashlib.sha256).digest()


def _header_bytes(envelope: dict[str, Any]) -> bytes:
    header = {k: envelope[k] for k in ("format", "version", "kdf", "cipher")}
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(document: dict[str, Any], passphrase: str) -> dict[str, Any]:
    """The envelope of ``document`` (JSON-serialisable) under ``passphrase``."""
    passphrase = check_passphrase(passphrase)
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise SealError(
            f"Choose a passphrase of at least {MIN_PASSPHRASE_LENGTH} characters: "
            "it is all that protects the secrets in the file."
        )
    salt, nonce = os.urandom(16), os.urandom(12)
    key, check_key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    envelope: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    plain = json.dumps(document, ensure_ascii=False).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plain, _header_bytes(envelope))
    envelope["check"] = _b64(_check_value(check_key))
    envelope["ciphertext"] = _b64(ciphertext)
    return envelope


def _int_param(kdf: dict[str, Any], name: str, limit: int) -> int:
    value = kdf.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise TamperedEnvelope(f"The encrypted export is damaged: kdf.{name} is out of range.")
    return value


def unseal(envelope: Any, passphrase: Any) -> Any:
    """The document sealed in ``envelope``; SealError (a subclass saying why) when it cannot."""
    passphrase = check_passphrase(passphrase)
    if not is_sealed(envelope):
        raise SealError("This is not an encrypted mcp-orch export.")
    if envelope.get("version") != VERSION:
        raise SealError(
            f"This encrypted export has version {envelope.get('version')!r}; "
            f"this mcp-orch reads version {VERSION}."
        )
    kdf, cipher = envelope.get("kdf"), envelope.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise TamperedEnvelope("The encrypted export is damaged: its key derivation is unknown.")
    if not isinstance(cipher, dict) or cipher.get("name") != "AES-256-GCM":
        raise TamperedEnvelope("The encrypted export is damaged: its cipher is unknown.")
    n = _int_param(kdf, "n", _MAX_SCRYPT_N)
    if n & (n - 1) or n < 2:
        raise TamperedEnvelope("The encrypted export is damaged: kdf.n is not a power of two.")
    r, p = _int_param(kdf, "r", _MAX_SCRYPT_R), _int_param(kdf, "p", _MAX_SCRYPT_P)
    salt = _unb64(kdf.get("salt"), "the salt")
    nonce = _unb64(cipher.get("nonce"), "the nonce")
    check = _unb64(envelope.get("check"), "the passphrase check")
    ciphertext = _unb64(envelope.get("ciphertext"), "the ciphertext")
    if len(nonce) != 12:
        raise TamperedEnvelope("The encrypted export is damaged: the nonce has the wrong size.")
    key, check_key = _derive(passphrase, salt, n, r, p)
    if not hmac.compare_digest(check, _check_value(check_key)):
        raise WrongPassphrase("The passphrase is wrong for this encrypted export.")
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, _header_bytes(envelope))
    except InvalidTag as exc:
        raise TamperedEnvelope(
            "The encrypted export was changed after it was made (its integrity check failed); "
            "export it again."
        ) from exc
    return json.loads(plain.decode("utf-8"))
