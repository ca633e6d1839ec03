"""Parser for the Graph API ``fields=`` field-expansion syntax (docs/graph-api.md §3).

    fields    := field ("," field)*
    field     := name modifier* ("{" fields "}")? modifier*
    modifier  := "." name "(" args ")"

Examples: ``fan_count``,
``reactions.type(LOVE).limit(0).summary(total_count).as(reactions_love)``,
``attachments{subattachments{target}}``,
``insights.metric(post_clicks,post_reactions_by_type_total)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError, syntax_error

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass
class FieldSpec:
    """One requested field with its modifiers (in order) and nested sub-fields."""

    name: str
    modifiers: dict[str, list[str]] = field(default_factory=dict)
    subfields: list[FieldSpec] | None = None

    @property
    def key(self) -> str:
        """The key the value is returned under: the ``as(...)`` alias or the name."""
        alias = self.modifiers.get("as")
        return alias[0] if alias else self.name

    def arg(self, modifier: str) -> str | None:
        values = self.modifiers.get(modifier)
        return values[0] if values else None

    def args(self, modifier: str) -> list[str]:
        return self.modifiers.get(modifier, [])

    def to_text(self) -> str:
        """Serialise back to ``fields=`` syntax (used to build ``paging.next`` for nested edges)."""
        out = self.name
        for mod, values in self.modifiers.items():
            out += f".{mod}({','.join(values)})"
        if self.subfields is not None:
            out += "{" + fields_to_text(self.subfields) + "}"
        return out


def fields_to_text(specs: list[FieldSpec]) -> str:
    return ",".join(s.to_text() for s in specs)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, expected: str) -> GraphError:
        found = self.text[self.pos] if self.pos < len(self.text) else "end of string"
        if self.pos < len(self.text):
            detail = f'Expected {expected} instead of "{found}".'
        else:
            detail = f"Expected {expected} instead of end of string."
        return syntax_error(detail, self.pos, self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
            self.pos += 1

    def name(self) -> str:
        self.skip_spaces()
        begin = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        if begin == self.pos:
            raise self.error("a field name")
        return self.text[begin : self.pos]

    def args(self) -> list[str]:
        # self.peek() == "("; arguments are split on top-level commas, nesting respected.
        self.pos += 1
        depth, current, values = 0, "", []
        while True:
            ch = self.peek()
            if not ch:
                raise self.error('")"')
            self.pos += 1
            if ch in "({":
                depth += 1
            elif ch in ")}":
                if depth == 0:
                    if ch == "}":
                        self.pos -= 1
                        raise self.error('")"')
                    values.append(current.strip())
                    return [v for v in values if v != ""]
                depth -= 1
            elif ch == "," and depth == 0:
                values.append(current.strip())
                current = ""
                continue
            current += ch

    def modifiers(self, spec: FieldSpec) -> None:
        while self.peek() == ".":
            self.pos += 1
            mod = self.name()
            if self.peek() != "(":
                raise self.error('"("')
            spec.modifiers[mod] = self.args()

    def field(self) -> FieldSpec:
        spec = FieldSpec(self.name())
        self.modifiers(spec)
        self.skip_spaces()
        if self.peek() == "{":
            self.pos += 1
            spec.subfields = self.field_list(closing="}")
            if self.peek() != "}":
                raise self.error('"}"')
            self.pos += 1
            self.modifiers(spec)
        return spec

    def field_list(self, closing: str = "") -> list[FieldSpec]:
        specs: list[FieldSpec] = []
        while True:
            self.skip_spaces()
            if self.peek() == ",":  # tolerate empty entries such as "a,,b" or a trailing comma
                self.pos += 1
                continue
            if self.peek() == closing:
                return specs
            specs.append(self.field())
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() == closing:
                return specs
            else:
                raise self.error("end of string" if not closing else f'"{closing}"')


def parse_fields(text: str) -> list[FieldSpec]:
    """Parse a ``fields=`` value. Raises ``GraphError`` (code 2500) on a syntax error."""
    return _Parser(text).field_list()
