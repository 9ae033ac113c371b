"""The Search API's expression language: parse text to a tree, compile the tree to SQL.

Pure: nothing here reads a clock, a file or a database. `catalog.searching` runs the
compiled queries.

    tree = parse('resource_type:image AND tags=kitten AND uploaded_at>1d')
    where = compile_where(tree, now=now, dialect="postgresql")
    tree.describe()  # "resource_type matches 'image' and tags equals 'kitten' and …"
"""

from __future__ import annotations

from darkroom.catalog.search.compiler import compile_where
from darkroom.catalog.search.errors import SearchError, SearchSyntaxError
from darkroom.catalog.search.fields import FIELDS, SORTABLE, FieldSpec, Kind, field_spec
from darkroom.catalog.search.nodes import And, Match, Node, Not, Or, Range, Term, Value
from darkroom.catalog.search.parser import parse

__all__ = [
    "parse",
    "compile_where",
    "SearchError",
    "SearchSyntaxError",
    "FIELDS",
    "SORTABLE",
    "FieldSpec",
    "Kind",
    "field_spec",
    "Node",
    "And",
    "Or",
    "Not",
    "Term",
    "Match",
    "Range",
    "Value",
]
