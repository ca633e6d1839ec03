"""Access tokens the sandbox accepts (docs/graph-api.md §10).

The default token ``sandbox-token`` behaves like a Business Manager system-user token: every
page scope, every Page, no expiry. Tests add USER/PAGE/SYSTEM_USER tokens with fewer scopes,
a page subset or an expiry to reach the 190/10/200 errors and to exercise ``/debug_token``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from . import rand

TOKEN_TYPES = ("USER", "PAGE", "SYSTEM_USER", "APP")
ALL_PAGE_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "pages_read_user_content",
    "pages_manage_metadata",
    "business_management",
)
PAGE_TASKS = ("MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE")
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 (a public test token, not a secret)


@dataclass
class Token:
    """One access token and what it may do."""

    value: str
    type: str = "SYSTEM_USER"
    scopes: tuple[str, ...] = ALL_PAGE_SCOPES
    expires_at: datetime | None = None  # None = never (debug_token shows 0)
    page_ids: frozenset[str] | None = None  # None = every Page
    user_id: str = "100090000000001"
    issued_at: datetime | None = None
    # 460 (password changed), 467 (logged out) or 492 (a Page token whose Page was unshared)
    revoked: int | None = None
    name: str = "Sandbox System User"
    children: dict[str, str] = field(default_factory=dict)  # page id -> derived page token

    def covers(self, page_id: str) -> bool:
        return self.page_ids is None or page_id in self.page_ids


class TokenStore:
    """Thread-safe registry of tokens, keyed by their value."""

    def __init__(self, app_id: str, app_token_secret: str) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._generations: Counter[tuple[str, str]] = Counter()  # re-issued Page tokens
        self.app_id = app_id
        self.app_token = f"{app_id}|{app_token_secret}"
        self.add(DEFAULT_TOKEN)
        self.add(self.app_token, type="APP", scopes=(), name="fanpulse sandbox")

    def add(
        self,
        value: str,
        type: str = "SYSTEM_USER",
        scopes: tuple[str, ...] | list[str] = ALL_PAGE_SCOPES,
        expires_at: datetime | None = None,
        page_ids: set[str] | frozenset[str] | list[str] | None = None,
        user_id: str | None = None,
        issued_at: datetime | None = None,
        name: str | None = None,
    ) -> Token:
        """Register a token (replacing any with the same value) and return it."""
        if type not in TOKEN_TYPES:
            raise ValueError(f"token type must be one of {TOKEN_TYPES}, not {type!r}")
        token = Token(
            value=value,
            type=type,
            scopes=tuple(scopes),
            expires_at=expires_at,
            page_ids=frozenset(page_ids) if page_ids is not None else None,
            user_id=user_id or str(100_090_000_000_000 + rand.h64("user", value) % 10**9),
            issued_at=issued_at,
            name=name or ("Sandbox System User" if type == "SYSTEM_USER" else "Sandbox User"),
        )
        with self._lock:
            self._tokens[value] = token
        return token

    def get(self, value: str) -> Token | None:
        with self._lock:
            return self._tokens.get(value)

    def revoke(self, value: str, subcode: int = 467) -> None:
        """Invalidate a token: 460 = password changed, 467 = logged out / invalid."""
        if subcode not in (460, 467):
            raise ValueError("subcode must be 460 or 467")
        with self._lock:
            token = self._tokens[value]
            token.revoked = subcode
            # A password change or logout also kills the Page tokens derived from the token.
            for child in token.children.values():
                if child in self._tokens:
                    self._tokens[child].revoked = subcode

    def revoke_page_tokens(self, page_id: str, subcode: int = 492) -> None:
        """Invalidate every Page token derived for ``page_id`` (the role on it was removed)."""
        with self._lock:
            for parent in self._tokens.values():
                child = parent.children.get(page_id)
                if child is not None and child in self._tokens:
                    self._tokens[child].revoked = subcode

    def remove(self, value: str) -> None:
        with self._lock:
            self._tokens.pop(value, None)

    def values(self) -> list[Token]:
        with self._lock:
            return list(self._tokens.values())

    def page_token(self, parent: Token, page_id: str) -> Token:
        """The Page token a user/system token gets for ``page_id`` (``/me/accounts``)."""
        with self._lock:
            existing = parent.children.get(page_id)
            if existing and existing in self._tokens:
                if self._tokens[existing].revoked is None:
                    return self._tokens[existing]
                # The old token died with a removed role: a new role gets a new token.
                self._generations[(parent.value, page_id)] += 1
            generation = self._generations[(parent.value, page_id)]
        digest = rand.h64("pagetoken", parent.value, page_id, generation)
        value = f"sbx-page-{page_id}-{digest:016x}"
        token = self.add(
            value,
            type="PAGE",
            scopes=parent.scopes,
            expires_at=None,  # derived from a long-lived user token: never expires (§10)
            page_ids={page_id},
            user_id=parent.user_id,
            issued_at=parent.issued_at,
            name=parent.name,
        )
        with self._lock:
            parent.children[page_id] = value
        return token

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._tokens

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


def appsecret_proof(app_secret: str, token: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret, lowercase hex (docs/graph-api.md §10)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
