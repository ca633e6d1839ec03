"""Which Pages the Business Manager's system user has a task on (docs/graph-api.md §0, §10).

A Page that has not given the Business Manager a task has no Page token: its posts are readable
only with Page Public Content Access and its insights never. Who has shared what is decided per
Page from the seed (so it is stable when a units file gains or loses rows):

* the province and the districts are always shared, with every task or a partner subset that
  always includes ANALYZE;
* about 12 % of commune Pages and 25 % of residential-area Pages are not shared at all;
* about 3 % of the shared commune / residential Pages gave tasks without ANALYZE (content
  only): their posts work, their insights are refused.
"""

from __future__ import annotations

from . import rand
from .tokens import PAGE_TASKS
from .units import PageSpec

ANALYZE = "ANALYZE"
UNSHARED_SHARE = {"province": 0.0, "district": 0.0, "commune": 0.12, "residential": 0.25}
NO_ANALYZE_SHARE = 0.03

# Task sets a Page admin realistically grants a partner business; every one includes ANALYZE.
# Order as /me/accounts writes them (§10).
_WITH_ANALYZE: list[tuple[tuple[str, ...], float]] = [
    (PAGE_TASKS, 0.6),
    (("CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE"), 0.2),
    (("MODERATE", "ADVERTISE", "ANALYZE"), 0.1),
    (("ANALYZE",), 0.1),
]
_WITHOUT_ANALYZE: list[tuple[tuple[str, ...], float]] = [
    (("CREATE_CONTENT", "MODERATE"), 0.6),
    (("MODERATE", "MESSAGING"), 0.4),
]


def _pick(options: list[tuple[tuple[str, ...], float]], *keys: object) -> tuple[str, ...]:
    total = sum(w for _, w in options)
    x = rand.unit(*keys) * total
    for tasks, weight in options:
        x -= weight
        if x < 0:
            return tasks
    return options[-1][0]


def default_tasks(seed: int, spec: PageSpec) -> tuple[str, ...]:
    """The tasks the system user has on ``spec``'s Page; empty = the Page is not shared."""
    k = (seed, "tasks", spec.id)
    if spec.level == "province":
        return PAGE_TASKS
    if rand.unit(*k, "shared") < UNSHARED_SHARE.get(spec.level, 0.0):
        return ()
    if spec.level in ("commune", "residential") and rand.unit(*k, "analyze") < NO_ANALYZE_SHARE:
        return _pick(_WITHOUT_ANALYZE, *k, "set")
    return _pick(_WITH_ANALYZE, *k, "set")


def normalise_tasks(tasks: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate task names given by a test; keep their order, drop duplicates."""
    out: list[str] = []
    for task in tasks:
        name = str(task).upper()
        if name not in PAGE_TASKS:
            raise ValueError(f"unknown Page task {task!r}; expected some of {PAGE_TASKS}")
        if name not in out:
            out.append(name)
    return tuple(out)
