"""A quick yes for documents that plainly satisfy their JSON schema.

jsonschema walks a document through a validator object per value; on a content index of
20,000 files that is most of a plain `check` (a second of CPU). `surely_valid` answers True
only when it can see the document satisfies the schema, by the same rules jsonschema applies
(draft 2020-12, no format assertion); for anything it does not recognise, or any value it
would have to think about (a float where an integer is asked, a `$ref` to another schema, a
keyword outside the few our schemas use), it answers False, and the caller asks jsonschema,
whose verdict and words are the ones that count. So it can make a valid document quicker to
accept, never an invalid one accepted: tests/core/test_schema_fast.py holds that against
jsonschema on many thousand mutated documents.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# Keywords that never make a document invalid here (annotations; `format` is not asserted
# by the validator contracts.py builds).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description",
                          "default", "examples", "format"})
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "object": (dict,), "array": (list,), "boolean": (bool,),
    "null": (type(None),), "integer": (int,), "number": (int, float)}


@cache
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source)


def _is_type(value: Any, name: str) -> bool:
    # Exact types: a bool is no integer (as in jsonschema); a float that happens to be whole
    # is one there, and is left to it here.
    kinds = _EXACT_TYPES.get(name)
    return kinds is not None and type(value) in kinds


def _scalar_equal(value: Any, expected: Any) -> bool:
    return type(value) is type(expected) and type(value) in (str, int, bool, type(None)) \
        and value == expected


def surely_valid(schema: Any, doc: Any, root: Any) -> bool:
    """True only when ``doc`` satisfies ``schema`` (a part of the schema document ``root``)."""
    if schema is True:
        return True
    if not isinstance(schema, dict):
        return False
    for keyword, arg in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if not _keyword_holds(keyword, arg, schema, doc, root):
            return False
    return True


def _keyword_holds(keyword: str, arg: Any, schema: dict[str, Any], doc: Any, root: Any
                   ) -> bool:
    if keyword == "type":
        names = arg if isinstance(arg, list) else [arg]
        return any(_is_type(doc, n) for n in names)
    if keyword == "const":
        return _scalar_equal(doc, arg)
    if keyword == "enum":
        return isinstance(arg, list) and any(_scalar_equal(doc, e) for e in arg)
    if keyword == "$ref":
        target = _local_ref(arg, root)
        return target is not None and surely_valid(target, doc, root)
    if keyword == "anyOf":
        return isinstance(arg, list) and any(surely_valid(s, doc, root) for s in arg)
    if keyword == "oneOf":  # one branch holds, and the type of every other one rules it out
        return isinstance(arg, list) and any(
            surely_valid(s, doc, root)
            and all(_type_rules_out(t, doc, root) for t in arg if t is not s) for s in arg)
    if type(doc) is dict:
        return _object_keyword(keyword, arg, schema, doc, root)
    if type(doc) is list:
        return _array_keyword(keyword, arg, doc, root)
    if type(doc) is str:
        return _string_keyword(keyword, arg, doc)
    if type(doc) in (int, float):
        return _number_keyword(keyword, arg, doc)
    # A keyword of another kind of value does not apply to this one (as in jsonschema);
    # one not known here might.
    return keyword in _OBJECT | _ARRAY | _STRING | _NUMBER


_OBJECT = frozenset({"required", "properties", "additionalProperties"})
_ARRAY = frozenset({"items", "minItems", "maxItems"})
_STRING = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER = frozenset({"minimum", "maximum"})


def _type_rules_out(schema: Any, doc: Any, root: Any) -> bool:
    """True when ``schema`` (or the schema its local $ref names) has a `type` that ``doc``
    is not by jsonschema's own rules (a whole float is an integer there)."""
    for _ in range(8):  # a chain of refs, never a loop
        if not isinstance(schema, dict):
            return False
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            return all(_surely_not(doc, n) for n in names)
        schema = _local_ref(schema.get("$ref"), root)
    return False


def _surely_not(value: Any, name: str) -> bool:
    if name == "integer":
        return not (type(value) is int or (type(value) is float and value.is_integer()))
    if name == "number":
        return type(value) not in (int, float)
    kinds = _EXACT_TYPES.get(name)
    return kinds is not None and type(value) not in kinds


def _local_ref(ref: Any, root: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/$defs/") or not isinstance(root, dict):
        return None
    defs = root.get("$defs")
    name = ref[len("#/$defs/"):]
    return defs.get(name) if isinstance(defs, dict) and "/" not in name and "~" not in name \
        else None


def _object_keyword(keyword: str, arg: Any, schema: dict[str, Any], doc: dict[str, Any],
                    root: Any) -> bool:
    if keyword == "required":
        return isinstance(arg, list) and all(isinstance(k, str) and k in doc for k in arg)
    if keyword == "properties":
        return isinstance(arg, dict) and all(
            surely_valid(arg[key], value, root) for key, value in doc.items() if key in arg)
    if keyword == "additionalProperties":
        if "patternProperties" in schema:
            return False
        known = schema.get("properties", {})
        if not isinstance(known, dict):
            return False
        extra = [value for key, value in doc.items() if key not in known]
        return all(surely_valid(arg, value, root) for value in extra) if arg is not False \
            else not extra
    return keyword in _ARRAY | _STRING | _NUMBER


def _array_keyword(keyword: str, arg: Any, doc: list[Any], root: Any) -> bool:
    if keyword == "items":
        return all(surely_valid(arg, item, root) for item in doc)
    if keyword == "minItems":
        return type(arg) is int and len(doc) >= arg
    if keyword == "maxItems":
        return type(arg) is int and len(doc) <= arg
    return keyword in _OBJECT | _STRING | _NUMBER


def _string_keyword(keyword: str, arg: Any, doc: str) -> bool:
    if keyword == "minLength":
        return type(arg) is int and len(doc) >= arg
    if keyword == "maxLength":
        return type(arg) is int and len(doc) <= arg
    if keyword == "pattern":
        return isinstance(arg, str) and _pattern(arg).search(doc) is not None
    return keyword in _OBJECT | _ARRAY | _NUMBER


def _number_keyword(keyword: str, arg: Any, doc: int | float) -> bool:
    if keyword in _NUMBER:
        if type(arg) not in (int, float) or doc != doc:  # NaN: left to jsonschema
            return False
        return bool(doc >= arg if keyword == "minimum" else doc <= arg)
    return keyword in _OBJECT | _ARRAY | _STRING
