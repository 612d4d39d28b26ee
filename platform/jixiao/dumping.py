"""The base of every schema: marshmallow's, with a dump planned once per schema instead of once per field value.

marshmallow serialises each value through five calls (``Field.serialize`` → ``Field.get_value`` →
``Schema.get_attribute`` → ``utils.get_value`` → ``_get_value_for_key``, then ``_serialize``): a page of 50 projects
is 1,354 values and that chain was a quarter of the JSON list's time. :class:`Schema` works out, once per schema
instance, how each of its dump fields reads and converts a value, and then does only that, with the same answer
as marshmallow's own ``_serialize`` for every field (``tests/test_dumping.py`` compares the two on every response
schema):

- the value is read as ``utils.get_value`` reads it (an item of anything with ``__getitem__``, falling back to the
  attribute; a dotted ``attribute`` walks the path), and a missing value takes the field's ``dump_default`` or
  leaves the key out;
- ``String``, ``Integer`` (not ``as_string``) and the fields that dump their value unchanged (``Boolean``,
  ``Raw``) convert inline; every other field (``Nested``, ``List``, ``DateTime``, ``Decimal``, ``Method``, the
  app's own ``Money``…) is called through its own ``_serialize``, so its rules stay its own;
- a schema that overrides ``get_attribute``, or a field that overrides ``serialize`` or ``get_value``, is
  serialised by marshmallow itself.

``pre_dump``/``post_dump`` hooks and ``many`` work as before: only ``Schema._serialize`` is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import marshmallow
from marshmallow import fields, utils
from marshmallow.utils import missing

#: Fields whose ``_serialize`` returns the value as it is (marshmallow's ``Field._serialize``).
_UNCHANGED = (fields.Boolean, fields.Raw)

Converter = Callable[[Any, str, Any], Any]


def _text(value: Any, _attr: str, _obj: Any) -> Any:
    if value is None or type(value) is str:
        return value
    return utils.ensure_text_type(value)


def _integer(value: Any, _attr: str, _obj: Any) -> Any:
    return None if value is None else int(value)


def _converter(field: fields.Field) -> Converter | None:
    """The inline conversion of ``field``'s value; None when it is the value itself."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return _integer
    if kind in _UNCHANGED and kind._serialize is fields.Field._serialize:
        return None
    return field._serialize


def _planned(field: fields.Field) -> bool:
    """``field`` reads its value as marshmallow's own chain does (no override on the way)."""
    kind = type(field)
    return (kind.serialize is fields.Field.serialize and kind.get_value is fields.Field.get_value
            and field._CHECK_ATTRIBUTE)


class _Step:
    __slots__ = ("attr", "key", "read_key", "dotted", "convert", "field", "generic")

    def __init__(self, attr: str, field: fields.Field, generic: bool) -> None:
        self.attr = attr
        self.key = field.data_key if field.data_key is not None else attr
        self.read_key = field.attribute if field.attribute is not None else attr
        self.dotted = "." in self.read_key
        self.field = field
        self.generic = generic or not _planned(field)
        self.convert = None if self.generic else _converter(field)


class Schema(marshmallow.Schema):
    """marshmallow's ``Schema`` with the dump planned once per instance (see the module)."""

    _dump_steps: list[_Step] | None = None

    @classmethod
    def from_dict(cls, fields: dict[str, fields.Field], *, name: str = "GeneratedSchema") -> type[Schema]:
        # marshmallow makes the class a subclass of ``cls``; only its annotation says marshmallow's Schema.
        return cast(type[Schema], super().from_dict(fields, name=name))

    def _plan(self) -> list[_Step]:
        generic = type(self).get_attribute is not marshmallow.Schema.get_attribute
        steps = [_Step(attr, field, generic) for attr, field in self.dump_fields.items()]
        self._dump_steps = steps
        return steps

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        steps = self._dump_steps if self._dump_steps is not None else self._plan()
        if many and obj is not None:
            return [self._dump_one(steps, each) for each in obj]
        return self._dump_one(steps, obj)

    def _dump_one(self, steps: list[_Step], obj: Any) -> Any:
        result = self.dict_class()
        by_item = hasattr(obj, "__getitem__")
        for step in steps:
            field = step.field
            if step.generic:
                value = field.serialize(step.attr, obj, accessor=self.get_attribute)
                if value is not missing:
                    result[step.key] = value
                continue
            if step.dotted:
                value = utils.get_value(obj, step.read_key, missing)
            elif by_item:
                try:
                    value = obj[step.read_key]
                except (KeyError, IndexError, TypeError, AttributeError):
                    value = getattr(obj, step.read_key, missing)
            else:
                value = getattr(obj, step.read_key, missing)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            convert = step.convert
            result[step.key] = value if convert is None else convert(value, step.attr, obj)
        return result
