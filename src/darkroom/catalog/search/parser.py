"""Text to syntax tree for Cloudinary's Lucene-like search expressions.

Two small layers: a lexer that cuts the text into tokens (knowing escapes, quotes and the
`-`/`!` prefix forms, but no field meanings), and a recursive-descent parser with the
precedence NOT > AND (explicit or by juxtaposition) > OR. Field names are checked against
`fields.FIELDS` here so that an unknown field is reported at its position, like any other
syntax error; values are only typed later, by the compiler.

    parse("(tags=cat OR tags=dog) AND -format:gif")
    == And((Or((Match("tags", "=", Value("cat")), Match("tags", "=", Value("dog")))),
            Not(Match("format", ":", Value("gif")))))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from darkroom.catalog.search.errors import SearchSyntaxError
from darkroom.catalog.search.fields import FieldSpec, field_spec, problem_with, takes_range
from darkroom.catalog.search.nodes import OPS, SPECIAL, And, Match, Node, Not, Op, Or, Range, Term, Value

__all__ = ["parse", "tokenize", "Token"]

MAX_LENGTH = 10_000  # characters; a longer expression is refused before lexing
MAX_DEPTH = 64  # nesting of parentheses and NOTs, so a hostile expression cannot exhaust the stack


@dataclass(frozen=True)
class Token:
    kind: str  # WORD QUOTED OP LPAREN RPAREN LBRACKET RBRACKET AND OR NOT TO END
    text: str  # unescaped text for WORD/QUOTED, the symbol otherwise
    pos: int  # 0-based character offset in the expression
    wildcard: bool = False  # WORD/QUOTED ending in an unescaped `*`
    glued: bool = False  # no whitespace between this token and the previous one


_PUNCT = {"(": "LPAREN", ")": "RPAREN", "[": "LBRACKET", "{": "LBRACKET", "]": "RBRACKET", "}": "RBRACKET"}
_KEYWORDS = {"AND": "AND", "OR": "OR", "NOT": "NOT", "TO": "TO"}


def tokenize(text: str) -> list[Token]:
    """Cut `text` into tokens; raises SearchSyntaxError naming the offending position."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    glued = False
    while i < n:
        c = text[i]
        if c.isspace():
            i, glued = i + 1, False
            continue
        token, i = _next_token(text, i, tokens)
        tokens.append(Token(token.kind, token.text, token.pos, token.wildcard, glued))
        glued = True
    tokens.append(Token("END", "", n))
    return tokens


def _next_token(text: str, i: int, before: list[Token]) -> tuple[Token, int]:
    c = text[i]
    pair = text[i : i + 2]
    after_op = bool(before) and before[-1].kind == "OP"
    if c in _PUNCT:
        return Token(_PUNCT[c], c, i), i + 1
    if pair in ("&&", "||"):
        return Token("AND" if pair == "&&" else "OR", pair, i), i + 2
    if pair in ("<=", ">="):
        return Token("OP", pair, i), i + 2
    if c in ":=<>":
        return Token("OP", c, i), i + 1
    if c == "!" or (c == "-" and not after_op and i + 1 < len(text) and not text[i + 1].isspace()):
        return Token("NOT", c, i), i + 1
    if c == '"':
        return _quoted(text, i)
    if c in "&|^~?!":
        raise SearchSyntaxError(f"unexpected '{c}'", i)
    return _word(text, i)


def _quoted(text: str, start: int) -> tuple[Token, int]:
    """A "quoted phrase": a backslash escapes the next character; a bare `*` may only end it (wildcard)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return Token("QUOTED", "".join(out), start), i + 1
        elif c == "*":
            if text[i + 1 : i + 2] != '"':
                raise SearchSyntaxError("a wildcard '*' may only end a value", i)
            return Token("QUOTED", "".join(out), start, wildcard=True), i + 2
        else:
            out.append(c)
            i += 1
    raise SearchSyntaxError("unterminated quoted phrase", start)


def _word(text: str, start: int) -> tuple[Token, int]:
    """An unquoted word up to whitespace or a special character; backslash escapes anything."""
    out: list[str] = []
    i = start
    escaped = False
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise SearchSyntaxError("a backslash must escape a character", i)
            out.append(text[i + 1])
            i, escaped = i + 2, True
        elif c == "*":
            if i + 1 < len(text) and text[i + 1] not in SPECIAL:
                raise SearchSyntaxError("a wildcard '*' may only end a value", i)
            return Token("WORD", "".join(out), start, wildcard=True), i + 1
        elif c in SPECIAL:
            break
        else:
            out.append(c)
            i += 1
    if not out:
        raise SearchSyntaxError(f"unexpected '{text[start]}'", start)
    word = "".join(out)
    kind = "WORD" if escaped else _KEYWORDS.get(word, "WORD")
    return Token(kind, word, start), i


class _Parser:
    """Recursive descent over the token list; one method per precedence level."""

    def __init__(self, tokens: list[Token], lookup: Callable[[str], FieldSpec | None]) -> None:
        self.tokens = tokens
        self.lookup = lookup
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            raise SearchSyntaxError(f"expected {what}, found {_shown(self.current)}", self.current.pos)
        return self.advance()

    def parse(self) -> Node:
        if self.current.kind == "END":
            raise SearchSyntaxError("empty expression", 0)
        node = self.parse_or()
        if self.current.kind != "END":
            raise SearchSyntaxError(f"unexpected {_shown(self.current)}", self.current.pos)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.current.kind == "OR":
            self.advance()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while self.current.kind in ("AND", "NOT", "WORD", "QUOTED", "LPAREN"):
            if self.current.kind == "AND":
                self.advance()
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        if self.current.kind == "NOT":
            start = self.advance()
            with_depth = self._deeper(start)
            node = Not(self.parse_unary())
            self.depth = with_depth
            return node
        return self.parse_primary()

    def _deeper(self, token: Token) -> int:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchSyntaxError("expression nested too deeply", token.pos)
        return self.depth - 1

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "LPAREN":
            self.advance()
            saved = self._deeper(token)
            node = self.parse_or()
            self.expect("RPAREN", "')'")
            self.depth = saved
            return node
        if token.kind == "WORD" and self.tokens[self.index + 1].kind == "OP" and self.tokens[self.index + 1].glued:
            return self.parse_field()
        if token.kind in ("WORD", "QUOTED"):
            self.advance()
            return Term(Value(token.text, token.kind == "QUOTED", token.wildcard))
        raise SearchSyntaxError(f"expected a search term, found {_shown(token)}", token.pos)

    def parse_field(self) -> Node:
        name_token = self.advance()
        spec = self.lookup(name_token.text)
        if name_token.wildcard or spec is None:
            raise SearchSyntaxError(f"unknown field '{name_token.text}'", name_token.pos)
        op_token = self.advance()
        op: Op = next(o for o in OPS if o == op_token.text)
        if op == ":" and self.current.kind == "LBRACKET":
            return self.parse_range(spec)
        value_token = self.current
        value = self.parse_value()
        _check(spec, op, value, value_token.pos)
        return Match(name_token.text, op, value)

    def parse_value(self) -> Value:
        token = self.current
        if token.kind in ("WORD", "QUOTED", "TO"):
            self.advance()
            return Value(token.text, token.kind == "QUOTED", token.wildcard)
        raise SearchSyntaxError(f"expected a value, found {_shown(token)}", token.pos)

    def parse_range(self, spec: FieldSpec) -> Range:
        opening = self.advance()
        if not takes_range(spec):
            raise SearchSyntaxError(f"field '{spec.name}' does not take a range", opening.pos)
        low = self.parse_bound(spec)
        self.expect("TO", "'TO'")
        high = self.parse_bound(spec)
        closing = self.expect("RBRACKET", "']' or '}'")
        return Range(spec.name, low, high, opening.text == "[", closing.text == "]")

    def parse_bound(self, spec: FieldSpec) -> Value | None:
        token = self.current
        if token.kind == "WORD" and token.wildcard and token.text == "":
            self.advance()
            return None
        value = self.parse_value()
        if value.wildcard:
            raise SearchSyntaxError("a range bound cannot be a wildcard", token.pos)
        _check(spec, "range", value, token.pos)
        return value


def _check(spec: FieldSpec, op: str, value: Value, position: int) -> None:
    problem = problem_with(spec, op, value.text, value.wildcard)
    if problem:
        raise SearchSyntaxError(problem, position)


def _shown(token: Token) -> str:
    if token.kind == "END":
        return "the end of the expression"
    return f"'{token.text}'" if token.kind != "QUOTED" else f'"{token.text}"'


def parse(text: str, *, fields: Callable[[str], FieldSpec | None] = field_spec) -> Node:
    """Parse a search expression into its tree; SearchSyntaxError names the bad position.

    `fields` says which field names exist (the assets' by default; folder search passes its own).
    """
    if len(text) > MAX_LENGTH:
        raise SearchSyntaxError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(tokenize(text), fields).parse()
