"""Graph API sandbox: a loopback HTTP server that behaves like the Facebook Graph API.

See docs/sandbox.md. The public surface is ``World`` (simulated pages and ground truth),
``SandboxServer`` (the HTTP server) and ``FaultConfig`` (fault injection).
"""

from .faults import THROTTLE_CODES, FaultConfig
from .metrics import DEPRECATED_METRICS, PAGE_METRICS, POST_METRICS
from .observe import LogEntry, Stats
from .server import SandboxServer
from .tokens import DEFAULT_TOKEN, Token, appsecret_proof
from .world import World

__all__ = [
    "DEFAULT_TOKEN",
    "DEPRECATED_METRICS",
    "PAGE_METRICS",
    "POST_METRICS",
    "THROTTLE_CODES",
    "FaultConfig",
    "LogEntry",
    "SandboxServer",
    "Stats",
    "Token",
    "World",
    "appsecret_proof",
]
