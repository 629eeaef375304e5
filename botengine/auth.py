"""Who may post events: the address allowlist, the shared secret, and the WAHA HMAC signature.

Secrets are compared in constant time (digests of equal length, every configured secret checked
every time), so neither a secret's content nor which secret matched leaks through timing. Several
secrets can be valid at once: add the new one, move Wawp over, remove the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence

from botengine.options import Network


def _digest(value: str | bytes) -> bytes:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()


def matches_any(given: str | None, accepted: Sequence[bytes]) -> bool:
    """Constant-time check of `given` against every accepted secret digest."""
    if given is None:
        return False
    candidate = _digest(given)
    found = False
    for digest in accepted:
        found |= hmac.compare_digest(candidate, digest)
    return found


class Authenticator:
    """The receiver's checks, configured once from the settings."""

    def __init__(
        self,
        *,
        secrets: Sequence[str] = (),
        hmac_keys: Sequence[str] = (),
        allow: Sequence[Network] = (),
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self._secrets = [_digest(s) for s in secrets]
        self._hmac_keys = [k.encode() for k in hmac_keys]
        self._allow = tuple(allow)
        self._proxies = tuple(trusted_proxies)
        # fixed at construction: the receiver reads them on every request
        self.needs_secret = bool(self._secrets)
        self.needs_signature = bool(self._hmac_keys)
        self.restricts_addresses = bool(self._allow)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The caller's address: the peer, or the X-Forwarded-For hop a trusted proxy vouches for.

        The header is read right to left and every hop added by a trusted proxy is skipped;
        the first other address is the client. A header from an untrusted peer is ignored
        (anyone can write it).
        """
        if not peer or not forwarded_for or not self._in(peer, self._proxies):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._in(hop, self._proxies):
                return hop
        return hops[0] if hops else peer

    def over_tls(self, scheme: str, peer: str | None, forwarded_proto: str | None) -> bool:
        """Whether the caller reached us over TLS: directly (`https`), or through a trusted proxy
        that says so in X-Forwarded-Proto (from anyone else the header is ignored)."""
        if scheme == "https":
            return True
        if not peer or not forwarded_proto or not self._in(peer, self._proxies):
            return False
        return forwarded_proto.split(",", 1)[0].strip().lower() == "https"

    def address_allowed(self, address: str | None) -> bool:
        return not self._allow or (address is not None and self._in(address, self._allow))

    def secret_ok(self, given: str | None) -> bool:
        return not self._secrets or matches_any(given, self._secrets)

    def signature_ok(self, body: bytes, given: str | None, algorithm: str | None) -> bool:
        """The X-Webhook-Hmac header: hex HMAC-SHA512 of the raw body under any accepted key."""
        if not self._hmac_keys:
            return True
        if given is None or (algorithm is not None and algorithm.strip().lower() != "sha512"):
            return False
        given_bytes = given.strip().lower().encode()
        found = False
        for key in self._hmac_keys:
            expected = hmac.new(key, body, hashlib.sha512).hexdigest().encode()
            found |= hmac.compare_digest(expected, given_bytes)
        return found

    @staticmethod
    def _in(address: str, networks: Sequence[Network]) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in networks)


def sign(body: bytes, key: str) -> str:
    """The X-Webhook-Hmac value WAHA would send for `body` (used by `botengine emit` and tests)."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
