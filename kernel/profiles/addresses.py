"""Channel addresses: validation and normalisation per kind, and the mapping to and from protobuf.

Normalisation gives each address one canonical stored form, so that the same inbox, device or phone is
never held twice under two spellings and suppression hashes match however the address was written.
Every normaliser is idempotent: feeding it its own output returns that output.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from cryptography.hazmat.primitives.asymmetric import ec

from herald.v1 import common_pb2
from kernel.errors import InvalidArgument

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_ENDPOINT_LENGTH = 2048
MAX_FCM_TOKEN_LENGTH = 4096
MAX_PHONE_INPUT_LENGTH = 64
P256DH_BYTES = 65
AUTH_BYTES = 16
UNCOMPRESSED_POINT = 0x04

KIND_NAMES = {
    common_pb2.ADDRESS_KIND_EMAIL: "email",
    common_pb2.ADDRESS_KIND_APNS_TOKEN: "apns_token",
    common_pb2.ADDRESS_KIND_FCM_TOKEN: "fcm_token",
    common_pb2.ADDRESS_KIND_WEB_PUSH: "web_push",
    common_pb2.ADDRESS_KIND_PHONE: "phone",
}
KIND_ENUMS = {name: number for number, name in KIND_NAMES.items()}
# A device token or push endpoint reaches one device: it belongs to whoever registered it last.
EXCLUSIVE_KINDS = frozenset({"apns_token", "fcm_token", "web_push"})

# RFC 5322 atext; non-ASCII characters are allowed too (RFC 6531 internationalised mailboxes).
_LOCAL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf"{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HEX = re.compile(r"[0-9A-Fa-f]{64,200}")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """A validated address in stored form. ``p256dh``/``auth`` are set for web push only."""

    kind: str
    value: str
    p256dh: str = ""
    auth: str = ""

    @property
    def details(self) -> dict[str, str]:
        """The ``profile_addresses.details`` document."""
        return {"p256dh": self.p256dh, "auth": self.auth} if self.kind == "web_push" else {}

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.value


def normalise_email(value: str, field: str = "value") -> str:
    """Plausible syntax only (deliverability is the provider's verdict); the domain is lower-cased and
    internationalised domains are stored in their ASCII (punycode) form."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise InvalidArgument("not an email address (expected local@domain)", field)
    if len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.fullmatch(local) or not local.isprintable():
        raise InvalidArgument("the part before '@' is not a plausible mailbox name", field)
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidArgument("the domain is not a valid host name", field) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise InvalidArgument("the domain is not a valid host name (e.g. example.com)", field)
    if labels[-1].isdigit():
        raise InvalidArgument("the domain must end with a top-level domain, not a number", field)
    email = f"{local}@{ascii_domain}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidArgument(f"longer than {MAX_EMAIL_LENGTH} characters", field)
    return email


def normalise_apns_token(value: str, field: str = "value") -> str:
    if not _HEX.fullmatch(value):
        raise InvalidArgument("an APNs token is 64 to 200 hexadecimal characters", field)
    return value.lower()


def normalise_fcm_token(value: str, field: str = "value") -> str:
    if len(value) > MAX_FCM_TOKEN_LENGTH or not _VISIBLE_ASCII.fullmatch(value):
        raise InvalidArgument(
            f"an FCM token is 1 to {MAX_FCM_TOKEN_LENGTH} printable ASCII characters without spaces", field
        )
    return value


def normalise_endpoint(value: str, field: str = "value") -> str:
    """A push service URL is kept verbatim (it is the subscription's identity), but must be https."""
    if len(value) > MAX_ENDPOINT_LENGTH:
        raise InvalidArgument(f"longer than {MAX_ENDPOINT_LENGTH} characters", field)
    if not _VISIBLE_ASCII.fullmatch(value):
        raise InvalidArgument("an endpoint URL has no spaces or non-ASCII characters", field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidArgument("not a valid URL", field) from None
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidArgument("the endpoint must be an https:// URL", field)
    return value


def normalise_phone(value: str, field: str = "value") -> str:
    """Any international spelling (``+33 6 12 34 56 78``) is accepted and stored as E.164."""
    if not value.startswith("+") or len(value) > MAX_PHONE_INPUT_LENGTH:
        raise InvalidArgument("a phone number must be in international form, starting with '+'", field)
    if any(character.isalpha() for character in value):
        # phonenumbers reads letters as keypad digits (vanity numbers: +33612342223 from +3361234abcd)
        # and drops extensions: either way a different number than the one written would be stored.
        raise InvalidArgument("a phone number has digits only (no letters, no extension)", field)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise InvalidArgument("not a phone number", field) from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidArgument("not a possible phone number for its country code", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def decode_web_push_key(value: str, size: int, field: str) -> bytes:
    """Browsers hand out base64url keys; padded or standard base64 is accepted too."""
    if not value or not _BASE64.fullmatch(value):
        raise InvalidArgument("must be base64url", field)
    unpadded = value.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgument("must be base64url", field) from None
    if len(raw) != size:
        raise InvalidArgument(f"must decode to {size} bytes, not {len(raw)}", field)
    return raw


def _is_p256_point(raw: bytes) -> bool:
    """Whether the key is a point of the curve: message encryption (RFC 8291) fails on any other, so
    a subscription with a bad key would only fail at send time."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def encode_web_push_key(raw: bytes) -> str:
    """The stored form: unpadded base64url, as the Web Push specs write keys."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_NORMALISERS = {
    "email": normalise_email,
    "apns_token": normalise_apns_token,
    "fcm_token": normalise_fcm_token,
    "web_push": normalise_endpoint,
    "phone": normalise_phone,
}


def parse_kind(kind: int, field: str) -> str:
    name = KIND_NAMES.get(kind)  # type: ignore[call-overload]
    if name is None:
        raise InvalidArgument("set the address kind (email, APNs token, FCM token, web push, phone)", field)
    return name


def normalise_value(kind: str, value: str, field: str = "value") -> str:
    """The stored form of ``value`` for the address kind ``kind`` (``email``, ``phone``, ...)."""
    if not value:
        raise InvalidArgument("must not be empty", field)
    return _NORMALISERS[kind](value, field)


def parse_address(message: common_pb2.Address, field: str, *, need_keys: bool = True) -> ParsedAddress:
    """Validate one protobuf address. ``need_keys=False`` (removals) accepts a web-push endpoint alone."""
    kind = parse_kind(message.kind, f"{field}.kind")
    value = normalise_value(kind, message.value, f"{field}.value")
    has_keys = message.HasField("web_push")
    if kind != "web_push":
        if has_keys:
            raise InvalidArgument("web_push keys are only for web-push addresses", f"{field}.web_push")
        return ParsedAddress(kind, value)
    if not need_keys:
        return ParsedAddress(kind, value)
    if not has_keys:
        raise InvalidArgument("a web-push subscription needs its p256dh and auth keys", f"{field}.web_push")
    p256dh = decode_web_push_key(message.web_push.p256dh, P256DH_BYTES, f"{field}.web_push.p256dh")
    if p256dh[0] != UNCOMPRESSED_POINT or not _is_p256_point(p256dh):
        raise InvalidArgument(
            "must be an uncompressed P-256 public key (0x04...)", f"{field}.web_push.p256dh"
        )
    auth = decode_web_push_key(message.web_push.auth, AUTH_BYTES, f"{field}.web_push.auth")
    return ParsedAddress(kind, value, encode_web_push_key(p256dh), encode_web_push_key(auth))


def to_message(kind: str, value: str, details: Mapping[str, str]) -> common_pb2.Address:
    message = common_pb2.Address(kind=KIND_ENUMS[kind], value=value)  # type: ignore[arg-type]
    if kind == "web_push":
        message.web_push.p256dh = details["p256dh"]
        message.web_push.auth = details["auth"]
    return message
