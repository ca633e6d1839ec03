"""Helpers for tests that talk to a running sandbox (used by tests/sandbox, usable elsewhere).

``SandboxClient`` is a thin ``requests`` wrapper; ``same_shape`` compares a recorded Graph
response with the sandbox's by structure (keys, order, JSON types, kinds of strings).
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from .server import SandboxServer
from .tokens import DEFAULT_TOKEN

FB_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$")
NUMERIC_ID = re.compile(r"^\d+(_\d+)?$")


class SandboxClient:
    """``client.get("/v26.0/123", fields="fan_count")`` with the default token added."""

    def __init__(
        self, server: SandboxServer, session: requests.Session, timeout: float = 10
    ) -> None:
        self.server = server
        self.session = session
        self.base_url = server.base_url
        self.timeout = timeout

    def get(self, path: str, token: str | None = DEFAULT_TOKEN, **params: Any) -> requests.Response:
        if token is not None:
            params.setdefault("access_token", token)
        return self.session.get(self.base_url + path, params=params, timeout=self.timeout)

    def batch(
        self, ops: list[dict[str, Any]], token: str | None = DEFAULT_TOKEN, **extra: str
    ) -> requests.Response:
        data = {"batch": json.dumps(ops), **extra}
        if token is not None:
            data["access_token"] = token
        return self.session.post(self.base_url + "/", data=data, timeout=self.timeout)

    def url(self, path: str) -> str:
        return self.base_url + path


def same_shape(recorded: Any, actual: Any, path: str = "$", ordered: bool = True) -> list[str]:
    """Structural differences between a recorded response and an actual one (empty = same).

    Objects must have the same keys (in the same order when ``ordered``); arrays' items must be
    shaped like the first recorded item; scalars must have the same JSON type; strings that are
    Graph timestamps, numeric ids or URLs in the recording must be so in the actual response.
    """
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected object, got {type(actual).__name__}"]
        rec_keys, act_keys = list(recorded), list(actual)
        if set(rec_keys) != set(act_keys):
            return [f"{path}: keys {act_keys} != recorded {rec_keys}"]
        problems = (
            []
            if not ordered or rec_keys == act_keys
            else [f"{path}: key order {act_keys} != recorded {rec_keys}"]
        )
        for key in rec_keys:
            problems += same_shape(recorded[key], actual[key], f"{path}.{key}", ordered)
        return problems
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return [f"{path}: expected array, got {type(actual).__name__}"]
        problems = []
        if recorded:
            for i, item in enumerate(actual):
                problems += same_shape(recorded[0], item, f"{path}[{i}]", ordered)
        return problems
    if isinstance(recorded, bool):
        return [] if isinstance(actual, bool) else [f"{path}: expected bool, got {actual!r}"]
    if isinstance(recorded, int):
        ok = isinstance(actual, int) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: expected integer, got {actual!r}"]
    if isinstance(recorded, float):
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: expected number, got {actual!r}"]
    if isinstance(recorded, str):
        if not isinstance(actual, str):
            return [f"{path}: expected string, got {actual!r}"]
        for pattern in (FB_TIME, NUMERIC_ID):
            if pattern.match(recorded) and not pattern.match(actual):
                return [f"{path}: {actual!r} is not shaped like recorded {recorded!r}"]
        if recorded.startswith("http") and not actual.startswith("http"):
            return [f"{path}: expected a URL, got {actual!r}"]
        return []
    if recorded is None:
        return [] if actual is None else [f"{path}: expected null, got {actual!r}"]
    return [f"{path}: unexpected recorded value {recorded!r}"]
