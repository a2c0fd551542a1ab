"""A light replacement for pydantic models (see python/README.md for why).

Each class lists its fields with a default (or REQUIRED) and a converter run on construction.
Objects keep which fields were set, so `model_dump()` drops unset and None fields as MLServer's
base class does, while `dict()` keeps them (pydantic v2's deprecated alias)."""
import copy as _copy
import enum
import json as _json
import keyword as _keyword

REQUIRED = object()
_MISSING = object()


class ValidationError(ValueError):
    """Raised for a missing or ill-typed field (pydantic's ValidationError plays this role)."""


def _nested(exclude, key):
    """pydantic's `exclude` for one field or list index: True drops it, a set/dict applies inside
    it, None keeps it whole. A dict's "__all__" applies to every index of a list."""
    if exclude is None:
        return None
    if isinstance(exclude, dict):
        sub = exclude.get(key, exclude.get("__all__")) if isinstance(key, int) else exclude.get(key)
        return True if sub is ... else sub
    return True if key in exclude else None


def _dump(value, exclude_unset, exclude_none, exclude=None):
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=exclude_unset, exclude_none=exclude_none, exclude=exclude)
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            sub = _nested(exclude, i)
            if sub is not True:
                out.append(_dump(v, exclude_unset, exclude_none, sub))
        return out
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = _nested(exclude, k)
            if sub is not True:
                out[k] = _dump(v, exclude_unset, exclude_none, sub)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    dump = getattr(value, "_ringserve_dump", None)  # TensorData
    if dump is not None:
        return dump()
    return value


def json_default(value):
    """json.dumps fallback: bytes as UTF-8 text (as MLServer's encoder), numpy values as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    dump = getattr(value, "_ringserve_dump", None)
    if dump is not None:
        return dump()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _store_extra(obj, d, fields_set, kwargs):
    for name, value in kwargs.items():
        if name.startswith("_"):
            d[name] = value        # private attributes (e.g. _decoded_payload, _source)
        elif obj._extra_allowed:
            d[name] = value
            fields_set.add(name)


def _bad_value(obj, name, error):
    return ValidationError(f"{type(obj).__name__}.{name}: {error}")


def _fast_init(cls):
    """An `__init__` written for `cls._fields`, as dataclasses writes one: keyword-only arguments
    parsed by CPython itself instead of a loop popping each field from **kwargs. Runtimes build
    an InferenceResponse and its outputs on every request; this halves what that costs. Same
    behaviour as BaseModel.__init__ (which stays the general path: a subclass whose `_fields`
    differ from those the code was written for falls back to it)."""
    fields = cls._fields
    names = list(fields)
    if any(not n.isidentifier() or _keyword.iskeyword(n) or n in ("self", "kwargs") for n in names):
        return None
    env = {"_M": _MISSING, "_F": fields, "_generic": BaseModel.__init__, "_copy": _copy.copy,
           "_extra": _store_extra, "_bad": _bad_value, "ValidationError": ValidationError}
    lines = [f"def __init__(self, *, {', '.join(n + '=_M' for n in names)}, **kwargs):",
             "    if type(self)._fields is not _F:",
             "        return _generic(self, **kwargs, **{k: v for k, v in ("
             + ", ".join(f"({n!r}, {n})" for n in names) + ") if v is not _M})",
             "    d = self.__dict__",
             "    fs = set()",
             "    d['_fields_set'] = fs"]
    for i, (name, (default, conv)) in enumerate(fields.items()):
        env[f"_D{i}"], env[f"_C{i}"] = default, conv
        lines.append(f"    if {name} is _M:")
        if default is REQUIRED:
            lines.append(f"        raise ValidationError(type(self).__name__ + \": field '{name}' is required\")")
        elif isinstance(default, (list, dict)):
            lines.append(f"        d[{name!r}] = _copy(_D{i})")
        else:
            lines.append(f"        d[{name!r}] = _D{i}")
        lines.append("    else:")
        if conv is not None:
            guard = f"{name} is not None" + (f" and type({name}) is not {conv.__name__}"
                                             if conv in (str, int, float, bool) else "")
            lines += [f"        if {guard}:",
                      "            try:",
                      f"                {name} = _C{i}({name})",
                      "            except ValidationError:",
                      "                raise",
                      "            except (TypeError, ValueError) as e:",
                      f"                raise _bad(self, {name!r}, e) from None"]
        lines += [f"        d[{name!r}] = {name}", f"        fs.add({name!r})"]
    lines += ["    if kwargs:", "        _extra(self, d, fs, kwargs)"]
    exec("\n".join(lines), env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class BaseModel:
    _fields = {}           # name -> (default, converter or None); filled by subclasses
    _extra_allowed = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__ and cls._fields:
            init = _fast_init(cls)
            if init is not None:
                cls.__init__ = init

    def __init__(self, **kwargs):
        # The general path (classes with their own __init__, e.g. the settings); most classes get
        # a generated one (_fast_init) that does the same.
        d = self.__dict__
        fields_set = set()
        d["_fields_set"] = fields_set
        for name, (default, conv) in self._fields.items():
            value = kwargs.pop(name, _MISSING)
            if value is _MISSING:
                if default is REQUIRED:
                    raise ValidationError(f"{type(self).__name__}: field '{name}' is required")
                d[name] = _copy.copy(default) if isinstance(default, (list, dict)) else default
                continue
            if conv is not None and value is not None:
                try:
                    value = conv(value)
                except ValidationError:
                    raise
                except (TypeError, ValueError) as e:
                    raise ValidationError(f"{type(self).__name__}.{name}: {e}") from None
            d[name] = value
            fields_set.add(name)
        if kwargs:
            _store_extra(self, d, fields_set, kwargs)

    def __setattr__(self, name, value):
        if not name.startswith("_") and name not in self._fields and not self._extra_allowed:
            raise ValueError(f'"{type(self).__name__}" object has no field "{name}"')
        self.__dict__[name] = value
        if not name.startswith("_"):
            self._fields_set.add(name)

    def _public(self):
        return [k for k in self.__dict__ if not k.startswith("_")]

    @property
    def model_fields_set(self):
        return set(self._fields_set)

    __fields_set__ = model_fields_set

    def model_dump(self, exclude_unset=True, exclude_none=True, exclude=None, **_ignored):
        out = {}
        for name in self._public():
            if exclude_unset and name not in self._fields_set:
                continue
            value = self.__dict__[name]
            if exclude_none and value is None:
                continue
            sub = _nested(exclude, name)
            if sub is not True:
                out[name] = _dump(value, exclude_unset, exclude_none, sub)
        return out

    def dict(self, exclude_unset=False, exclude_none=False, **kwargs):
        return self.model_dump(exclude_unset=exclude_unset, exclude_none=exclude_none, **kwargs)

    def model_dump_json(self, exclude_unset=True, exclude_none=True, exclude=None, **_ignored):
        return _json.dumps(self.model_dump(exclude_unset, exclude_none, exclude), default=json_default)

    def json(self, exclude_unset=False, exclude_none=False, **kwargs):
        return self.model_dump_json(exclude_unset=exclude_unset, exclude_none=exclude_none, **kwargs)

    @classmethod
    def model_validate(cls, obj):
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, dict):
            raise ValidationError(f"{cls.__name__}: expected a dict, got {type(obj).__name__}")
        return cls(**obj)

    parse_obj = model_validate

    @classmethod
    def model_validate_json(cls, text):
        return cls.model_validate(_json.loads(text))

    parse_raw = model_validate_json

    @classmethod
    def parse_file(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.model_validate_json(f.read())

    def model_copy(self, update=None, deep=False):
        new = _copy.deepcopy(self) if deep else _copy.copy(self)
        new.__dict__["_fields_set"] = set(self._fields_set)
        for k, v in (update or {}).items():
            setattr(new, k, v)
        return new

    copy = model_copy

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.dict() == other.dict()

    def __repr__(self):
        inner = ", ".join(f"{k}={self.__dict__[k]!r}" for k in self._public())
        return f"{type(self).__name__}({inner})"


def model_of(cls):
    """Converter: a dict (or an instance) into `cls`."""
    return lambda v: cls.model_validate(v)


def list_of(cls):
    return lambda v: [cls.model_validate(x) for x in v]
