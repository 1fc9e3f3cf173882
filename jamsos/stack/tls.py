"""The secured local stack's certificates: a CA of its own and one server certificate.

Made once, the first time `jamsos stack up` runs secured, under `<state_dir>/tls/` (mode
0700, keys 0600) with the `cryptography` package. The server certificate names 127.0.0.1
and localhost, so clients verify host names as they would against a real cluster; Kafka
also uses it as its own client certificate between broker and controller, whose
listeners require one (its subject is a super user there, see `jamsos.stack.acls`).
Nothing here is for production: a real deployment's certificates come from its own CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jamsos.connect import LOCAL_TLS_DIR
from jamsos.settings import Settings

BROKER_SUBJECT = "CN=jamsos-local-server"
"""The server certificate's subject: Kafka's principal `User:CN=jamsos-local-server`
between broker and controller."""
VALID_DAYS = 825


@dataclass(frozen=True)
class LocalTls:
    """Paths of the local stack's PEM files."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server-key.pem"

    @property
    def server_bundle(self) -> Path:
        """Key and certificate in one file: Kafka's PEM key store."""
        return self.folder / "server-bundle.pem"


def local_tls(settings: Settings) -> LocalTls:
    return LocalTls(settings.state_dir / LOCAL_TLS_DIR)


def make_local_tls(settings: Settings) -> LocalTls:
    """Make the CA and the server certificate unless they exist; returns their paths."""
    files = local_tls(settings)
    if files.server_bundle.exists():
        return files
    files.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jamsos local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string(BROKER_SUBJECT))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = server_cert.public_bytes(serialization.Encoding.PEM)
    _write(
        files.ca_key,
        ca_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write(files.server_key, key_pem)
    _write(files.server_cert, cert_pem, mode=0o644)
    _write(files.server_bundle, key_pem + cert_pem)  # last: its presence means "all made"
    return files


def _write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
