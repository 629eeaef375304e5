"""The dashboard's login: an admin token, or a user name and password, from the environment; and
an optional read-only login (a viewer sees every page and changes nothing).

Never open by default: with neither set, the dashboard is not served at all. A login gets a
signed session cookie (HttpOnly, SameSite=Strict, 12 hours, and Secure whenever the login came
over TLS, directly or through a trusted proxy); every state-changing form carries a
CSRF token derived from the session, checked on POST. The signing key is derived from the
credentials themselves, so every node of a scaled-out engine accepts the same cookie, and
changing the password logs everyone out. It is derived with scrypt (memory-hard, ~16 MiB and
tens of milliseconds), not one fast hash: a cookie is a signature anyone holding it can test
guesses against offline, and a viewer holds one, so the admin password would otherwise fall to
a dictionary at millions of guesses a second, past the login's five-a-minute limit.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

COOKIE = "botengine_session"
SESSION_SECONDS = 12 * 3600
_FAILURES_ALLOWED = 5  # wrong logins per address a minute before it must wait
_FAILURE_WINDOW = 60.0
_ADDRESSES_TRACKED = 10_000  # addresses come from outside: their memory is bounded too


Role = Literal["admin", "viewer"]


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int
    role: Role = "admin"
    user: str = "admin"

    @property
    def can_edit(self) -> bool:
        return self.role == "admin"


class DashboardAuth:
    def __init__(
        self,
        *,
        token: str = "",
        user: str = "admin",
        password: str = "",
        viewer: str = "viewer",
        viewer_password: str = "",
    ) -> None:
        self.token = token
        self.user = user
        self.password = password
        self.viewer = viewer
        self.viewer_password = viewer_password
        material = "\0".join(("botengine-dashboard", token, user, password, viewer, viewer_password))
        self._key = _derive_key(material)
        self._failures: dict[str, deque[float]] = {}
        self._pruned_at = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.password or self.viewer_password)

    @property
    def password_login(self) -> bool:
        return bool(self.password or self.viewer_password)

    # -- logging in -----------------------------------------------------------------------------

    def locked_out(self, address: str) -> bool:
        recent = self._recent(address)
        return recent is not None and len(recent) >= _FAILURES_ALLOWED

    def _recent(self, address: str) -> deque[float] | None:
        """The address's wrong logins of the last minute (None, and forgotten, when none)."""
        recent = self._failures.get(address)
        while recent and recent[0] < time.monotonic() - _FAILURE_WINDOW:
            recent.popleft()
        if recent is not None and not recent:
            del self._failures[address]
            return None
        return recent

    def _count_failure(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= _ADDRESSES_TRACKED:
            if time.monotonic() - self._pruned_at > 1.0:  # a full pass at most once a second
                self._pruned_at = time.monotonic()
                for known in list(self._failures):  # forget addresses whose minute is over
                    self._recent(known)
            if len(self._failures) >= _ADDRESSES_TRACKED:
                return  # that many addresses at once: locking one out would not slow anyone
        self._failures.setdefault(address, deque()).append(time.monotonic())

    def check(self, address: str, *, user: str = "", password: str = "", token: str = "") -> Role | None:
        """The role a right token or user and password log in as; None (and counted) otherwise."""
        role: Role | None = None
        if self.token and token:
            role = "admin" if _same(token, self.token) else None
        elif password:
            if self.password and _same(user, self.user) & _same(password, self.password):
                role = "admin"
            elif self.viewer_password and _same(user, self.viewer) & _same(password, self.viewer_password):
                role = "viewer"
        if role is None:
            self._count_failure(address)
        return role

    # -- sessions -------------------------------------------------------------------------------

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def new_session(self, role: Role = "admin", user: str = "") -> str:
        """A cookie value for a fresh session of `user` (shown on saved versions) as `role`."""
        # role-userhex-random: signed with the rest, so neither can be changed by the holder
        nonce = f"{role}-{(user or role).encode().hex()}-{secrets.token_hex(16)}"
        body = f"{int(time.time()) + SESSION_SECONDS}.{nonce}"
        return f"{body}.{self._sign(body)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie stands for, or None when it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 2 or not cookie.isascii():
            return None
        expires, nonce, signature = cookie.split(".")
        if not _same(signature, self._sign(f"{expires}.{nonce}")):
            return None
        if not expires.isdigit() or int(expires) < time.time():
            return None
        role, _, rest = nonce.partition("-")
        user_hex = rest.partition("-")[0]
        if role not in ("admin", "viewer"):
            return None
        try:
            user = bytes.fromhex(user_hex).decode()
        except ValueError:
            return None
        return Session(nonce, int(expires), "viewer" if role == "viewer" else "admin", user)

    def csrf_token(self, session: Session) -> str:
        return self._sign(f"csrf.{session.nonce}")[:40]

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and _same(str(token), self.csrf_token(session))


_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1}  # OWASP's minimum for scrypt: 16 MiB per guess


@functools.lru_cache(maxsize=8)  # one engine builds it once; tests build many engines
def _derive_key(material: str) -> bytes:
    return hashlib.scrypt(material.encode(), salt=b"botengine-dashboard-session", dklen=32, **_SCRYPT)


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of a value from the client (any characters) and one of ours.

    `hmac.compare_digest` takes str only when it is ASCII: a cookie or form field with an `é`
    would raise (a 500) instead of simply not matching.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
