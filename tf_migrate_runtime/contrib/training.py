"""`tf.contrib.training.HParams` and `parse_values` with TF 1.15's semantics, in pure Python.

Behaviour kept from contrib (`tensorflow/contrib/training/python/training/hparam.py`, r1.15):

- `HParams(**kwargs)`: each keyword becomes an attribute; its type (or, for a list or tuple, the type of
  its first element) is recorded. A name that is already a non-None attribute (`values`, `parse`, ...) is
  reserved: `ValueError`. An empty list: `ValueError`.
- `set_hparam(name, value)`: unknown name -> `KeyError`; a list for a scalar or a scalar for a list ->
  `ValueError`; the value is cast to the recorded type when compatible (int -> float yes; float -> int,
  number <-> bool, non-string -> string no: `ValueError`); a recorded type of `NoneType` accepts anything.
- `parse("a=1,b=[1,2],c=true")`: the grammar of `parse_values` below, then `override_from_dict`.
- `parse_json(text)` / `override_from_dict(d)`: `set_hparam` for each entry. `to_json(indent, separators,
  sort_keys)` dumps `values()`.
- `values()` (a dict, in insertion order), `get(key, default)` (a default of the wrong type is a
  `ValueError`), `key in hparams`, `del_hparam` (no-op when absent), `str()` = `"a=1,b=2"`,
  `repr()` = `"HParams([('a', 1), ('b', 2)])"`, `set/get_model_structure`.

`parse_values` grammar: comma-separated clauses `name[index]? = value`, where `name` matches
`[a-zA-Z][\\w.]*`, `value` is either one token without `,` or `[` (may be empty for a string: `s=`) or a
bracketed list whose elements are split on commas and spaces. Booleans accept `true/True/false/False` or an
integer. Assigning one name twice, a list to an index, an unknown name (unless `ignore_unknown`), or a value
that does not parse as the type is a `ValueError` naming the clause.

Not kept: the `hparam_def` protocol buffer (`HParamDef`, `to_proto`, `from_proto`) - its proto module went
away with contrib; passing `hparam_def` raises `ValueError` saying so.
"""

import json
import numbers
import re

__all__ = ["HParams", "parse_values"]

# One clause: `name`, optional `[index]`, `=`, then a scalar token or a bracketed list; then the end of the
# string or a comma (and spaces). Same language as contrib's PARAM_RE.
_CLAUSE = re.compile(
    r"""
    (?P<name>[a-zA-Z][\w.]*)          # hyperparameter name
    (\[\s*(?P<index>\d+)\s*\])?       # optional index: x[1]=...
    \s*=\s*
    ((?P<val>[^,\[]*)                 # a scalar token
     |
     \[(?P<vals>[^\]]*)\])            # or a list: [1,2 3]
    ($|,\s*)
    """,
    re.VERBOSE,
)


def _type_name(type_):
    return getattr(type_, "__name__", str(type_))


def _parse_error(name, type_, value, values):
    return ValueError(f"Could not parse hparam '{name}' of type '{_type_name(type_)}' with value '{value}' "
                      f"in {values}")


def _reuse_error(name, values):
    return ValueError(f"Multiple assignments to variable '{name}' in {values}")


def _bool_parser(name, values):
    def parse_bool(text):
        if text in ("true", "True"):
            return True
        if text in ("false", "False"):
            return False
        try:
            return bool(int(text))
        except ValueError:
            raise _parse_error(name, bool, text, values) from None

    return parse_bool


def parse_values(values, type_map, ignore_unknown=False):
    """Parse `"name=value,..."` into a dict, each value parsed as `type_map[name]`.

    Args:
        values: the string, e.g. `"lr=0.1,layers=[2,3],use_attention=false,arr[1]=5"`.
        type_map: hyperparameter name -> type (for a list: the type of its elements).
        ignore_unknown: skip names missing from `type_map` instead of raising.

    Returns:
        name -> a scalar, a list of scalars, or (for `x[i]=v` clauses) a dict index -> scalar.

    Raises:
        ValueError: a malformed clause, an unknown name, a value that does not parse, a name assigned
            twice, or a list assigned to an index.
    """
    results = {}
    pos = 0
    while pos < len(values):
        match = _CLAUSE.match(values, pos)
        if not match:
            raise ValueError(f"Malformed hyperparameter value: {values[pos:]}")
        pos = match.end()
        groups = match.groupdict()
        name = groups["name"]
        if name not in type_map:
            if ignore_unknown:
                continue
            raise ValueError(f"Unknown hyperparameter type for {name}")
        type_ = type_map[name]
        parse = _bool_parser(name, values) if type_ is bool else type_
        if groups["val"] is not None:
            _store_scalar(results, name, type_, parse, groups, values)
        elif groups["vals"] is not None:
            _store_list(results, name, type_, parse, groups, values)
        else:  # pragma: no cover - the regular expression always sets one of the two
            raise _parse_error(name, type_, "", values)
    return results


def _store_scalar(results, name, type_, parse, groups, values):
    try:
        parsed = parse(groups["val"])
    except ValueError:
        raise _parse_error(name, type_, groups["val"], values) from None
    if not groups["index"]:
        if name in results:
            raise _reuse_error(name, values)
        results[name] = parsed
        return
    if name in results and not isinstance(results[name], dict):
        raise _reuse_error(name, values)
    by_index = results.setdefault(name, {})
    index = int(groups["index"])
    if index in by_index:
        raise _reuse_error(f"{name}[{index}]", values)
    by_index[index] = parsed


def _store_list(results, name, type_, parse, groups, values):
    if groups["index"] is not None:
        raise ValueError("Assignment of a list to a list index.")
    if name in results:
        raise _reuse_error(name, values)
    try:
        results[name] = [parse(e) for e in re.split("[ ,]", groups["vals"]) if e]
    except ValueError:
        raise _parse_error(name, type_, groups["vals"], values) from None


def _cast_if_compatible(name, param_type, value):
    """`value` as `param_type`, refusing the casts contrib refuses (float -> int, number <-> bool, ...)."""
    if type(value) is param_type:
        return value
    if issubclass(param_type, type(None)):  # recorded from a None value: anything goes
        return value
    failure = ValueError(f"Could not cast hparam '{name}' of type '{param_type}' from value {value!r}")
    if issubclass(param_type, (str, bytes)) and not isinstance(value, (str, bytes)):
        raise failure
    if issubclass(param_type, bool) != isinstance(value, bool):
        raise failure
    if issubclass(param_type, numbers.Integral) and not isinstance(value, numbers.Integral):
        raise failure
    if issubclass(param_type, numbers.Number) and not isinstance(value, numbers.Number):
        raise failure
    return param_type(value)


class HParams:
    """Hyperparameters as attributes, with contrib's typed overrides (`tf.contrib.training.HParams`).

    Args:
        hparam_def: not supported (contrib's `HParamDef` protocol buffer); must be None.
        model_structure: any object, kept for `get_model_structure()`.
        **kwargs: hyperparameter name -> value (int, float, bool, str, or a non-empty list of those).

    Example:
        >>> hp = HParams(learning_rate=0.1, layers=[2, 3], attention="luong")
        >>> hp.parse("learning_rate=0.3,layers=[4]").learning_rate
        0.3
        >>> hp.layers
        [4]
    """

    _HAS_DYNAMIC_ATTRIBUTES = True

    def __init__(self, hparam_def=None, model_structure=None, **kwargs):
        # name -> (type of the value or of a list's elements, is_list)
        self._hparam_types = {}
        self._model_structure = model_structure
        if hparam_def is not None:
            raise ValueError("HParams(hparam_def=...) is not supported: the HParamDef protocol buffer went away "
                             "with tf.contrib. Pass the values as keyword arguments, e.g. "
                             "HParams(**json.loads(saved_json)).")
        for name, value in kwargs.items():
            self.add_hparam(name, value)

    def add_hparam(self, name, value):
        """Add a new hyperparameter; `ValueError` if `name` is reserved or `value` is an empty list."""
        if getattr(self, name, None) is not None:
            raise ValueError(f"Hyperparameter name is reserved: {name}")
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"Multi-valued hyperparameters cannot be empty: {name}")
            self._hparam_types[name] = (type(value[0]), True)
        else:
            self._hparam_types[name] = (type(value), False)
        setattr(self, name, value)

    def set_hparam(self, name, value):
        """Set an existing hyperparameter, cast to its type; `KeyError` if unknown, `ValueError` on mismatch."""
        param_type, is_list = self._hparam_types[name]
        if isinstance(value, list):
            if not is_list:
                raise ValueError(f"Must not pass a list for single-valued parameter: {name}")
            setattr(self, name, [_cast_if_compatible(name, param_type, v) for v in value])
        else:
            if is_list:
                raise ValueError(f"Must pass a list for multi-valued parameter: {name}.")
            setattr(self, name, _cast_if_compatible(name, param_type, value))

    def del_hparam(self, name):
        """Remove a hyperparameter; nothing happens if it does not exist."""
        if hasattr(self, name):
            delattr(self, name)
            del self._hparam_types[name]

    def parse(self, values):
        """Override hyperparameters from `"name=value,..."` (see `parse_values`); returns `self`."""
        type_map = {name: param_type for name, (param_type, _) in self._hparam_types.items()}
        return self.override_from_dict(parse_values(values, type_map))

    def override_from_dict(self, values_dict):
        """`set_hparam` for each `name: value`; returns `self`."""
        for name, value in values_dict.items():
            self.set_hparam(name, value)
        return self

    def set_from_map(self, values_map):
        """Deprecated in contrib: same as `override_from_dict`."""
        return self.override_from_dict(values_map)

    def set_model_structure(self, model_structure):
        self._model_structure = model_structure

    def get_model_structure(self):
        return self._model_structure

    def to_json(self, indent=None, separators=None, sort_keys=False):
        """`values()` as a JSON string (arguments as `json.dumps`)."""
        return json.dumps(self.values(), indent=indent, separators=separators, sort_keys=sort_keys)

    def parse_json(self, values_json):
        """Override hyperparameters from a JSON object string; returns `self`."""
        return self.override_from_dict(json.loads(values_json))

    def values(self):
        """A dict name -> value of every hyperparameter, in the order they were added."""
        return {name: getattr(self, name) for name in self._hparam_types}

    def get(self, key, default=None):
        """The value of `key`, else `default`; a `default` incompatible with the hyperparameter's type raises."""
        if key not in self._hparam_types:
            return default
        if default is not None:
            param_type, is_list = self._hparam_types[key]
            type_str = f"list<{param_type}>" if is_list else str(param_type)
            failure = f"Hparam '{key}' of type '{type_str}' is incompatible with default={default}"
            if is_list != isinstance(default, list):
                raise ValueError(failure)
            try:
                for value in default if is_list else [default]:
                    _cast_if_compatible(key, param_type, value)
            except ValueError as error:
                raise ValueError(f"{failure}. {error}") from None
        return getattr(self, key)

    def __contains__(self, key):
        return key in self._hparam_types

    def __str__(self):
        return ",".join(f"{key}={value}" for key, value in self.values().items())

    def __repr__(self):
        return f"{type(self).__name__}({sorted(self.values().items())})"
