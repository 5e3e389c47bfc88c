"""The custodian's secrets in ``PROJECT/governance/`` (beside the releases): the ledger salt and the Ed25519 signing key.

Both are created once, atomically: written in full to a temporary name, then hard-linked into place
(``link`` fails if the name exists, so of several processes creating it at once exactly one wins and
every other reads the winner's complete file; nobody ever sees an empty or half-written one).

The private key (``custodian.key``, PEM, mode 0600) signs every ledger entry and every receipt; its
public half (``custodian.pub``, 64 hex digits) is published with each release (``manifest.json``
``signing.public_key`` and ``custodian.pub``), as Certificate Transparency logs publish the key that
signs their tree heads: a requester checks a receipt alone against the release's key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ReleaseError

SALT = "salt"
PRIVATE_KEY = "custodian.key"
PUBLIC_KEY = "custodian.pub"
ALGORITHM = "ed25519"


def create_once(path: Path, make: Callable[[], bytes], mode: int = 0o600) -> bytes:
    """The content of ``path``, creating it atomically with ``make()`` if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:          # another process won the race: its file is complete
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def read_salt(gov_dir: Path) -> bytes:
    raw = create_once(gov_dir / SALT, lambda: secrets.token_hex(32).encode()).strip()
    try:
        salt = bytes.fromhex(raw.decode())
    except ValueError:
        raise ReleaseError(f"{gov_dir / SALT}: not a thresher salt (64 hex digits)") from None
    if len(salt) < 16:
        raise ReleaseError(f"{gov_dir / SALT}: the salt is empty or too short")
    return salt


class Signer:
    """The custodian key of one governance folder (created on first use)."""

    def __init__(self, gov_dir: Path):
        pem = create_once(gov_dir / PRIVATE_KEY, lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.key = serialization.load_pem_private_key(pem, password=None)
        self.public_key = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw).hex()
        create_once(gov_dir / PUBLIC_KEY, lambda: (self.public_key + "\n").encode(), mode=0o644)

    def sign(self, message: str) -> str:
        return self.key.sign(message.encode("ascii")).hex()


def public_key(gov_dir: Path) -> str | None:
    """The published half of a governance folder's key, or None if it has none yet."""
    p = gov_dir / PUBLIC_KEY
    return p.read_text().strip() if p.is_file() else None


def check_signature(public_hex: str, message: str, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(signature_hex),
                                                                            message.encode("ascii"))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


GOV_DIR = "governance"


def custodian_dir(release: Path) -> Path:
    """The governance folder of a release's project: beside the release folders."""
    return Path(release).resolve().parent / GOV_DIR


def manifest_digest(manifest: dict) -> str:
    """What a manifest's signature covers: sha256 of its canonical JSON without ``signature``."""
    import hashlib

    import orjson

    body = {k: v for k, v in manifest.items() if k != "signature"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sign_manifest(manifest: dict, signer: "Signer") -> dict:
    """``manifest`` with ``signing`` (the public key) and ``signature`` over every other field."""
    out = {k: v for k, v in manifest.items() if k != "signature"}
    out["signing"] = {"algorithm": ALGORITHM, "public_key": signer.public_key}
    out["signature"] = signer.sign(manifest_digest(out))
    return out
