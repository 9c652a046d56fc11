"""`tf_migrate_runtime.contrib.training.HParams` / `parse_values` and `contrib.learn.ModeKeys` behave as TF 1.15's.

Expected values are TF 1.15 contrib's documented behaviour (hparam.py docstrings and its hparam_test.py
cases), written here as plain assertions.
"""

import json

import pytest

from tf_migrate_runtime.contrib.learn import ModeKeys
from tf_migrate_runtime.contrib.training import HParams, parse_values


@pytest.fixture
def hp():
    return HParams(aaa=1, b=2.0, c_c="relu6", d="/a/b=c/d", e=True, f=[1, 2], g=[0.5], h=["x", "y"], n=None)


def test_construction_records_types_and_order(hp):
    assert hp.aaa == 1 and hp.b == 2.0 and hp.d == "/a/b=c/d" and hp.f == [1, 2]
    assert list(hp.values()) == ["aaa", "b", "c_c", "d", "e", "f", "g", "h", "n"]
    assert hp.values()["h"] == ["x", "y"]
    assert "aaa" in hp and "zzz" not in hp
    assert str(HParams(a=1, b="x")) == "a=1,b=x"
    assert repr(HParams(b=2, a=1)) == "HParams([('a', 1), ('b', 2)])"


@pytest.mark.parametrize("name", ["values", "parse", "to_json", "get", "set_hparam"])
def test_reserved_names(name):
    with pytest.raises(ValueError, match=f"Hyperparameter name is reserved: {name}"):
        HParams(**{name: 1})


def test_empty_list_refused():
    with pytest.raises(ValueError, match="Multi-valued hyperparameters cannot be empty: x"):
        HParams(x=[])


def test_hparam_def_refused_with_advice():
    with pytest.raises(ValueError, match="HParamDef"):
        HParams(hparam_def=object())


def test_parse_scalars_lists_bools(hp):
    out = hp.parse("aaa=12, b=3, c_c=relu4,f=[3 4, 5],g=[1e-3],h=[p,q],e=false")
    assert out is hp
    assert hp.aaa == 12 and type(hp.b) is float and hp.b == 3.0 and hp.c_c == "relu4"
    assert hp.f == [3, 4, 5] and hp.g == [0.001] and hp.h == ["p", "q"] and hp.e is False
    for text, value in [("true", True), ("True", True), ("False", False), ("1", True), ("0", False)]:
        assert hp.parse(f"e={text}").e is value


def test_parse_empty_string_value_and_spaces():
    hp = HParams(s="x", t="y")
    assert hp.parse("s=").s == ""
    assert hp.parse("t = hello world").t == "hello world"


@pytest.mark.parametrize("text, message", [
    ("aaa=1.5", "Could not parse hparam 'aaa' of type 'int' with value '1.5'"),
    ("e=yes", "Could not parse hparam 'e' of type 'bool' with value 'yes'"),
    ("f=[1,x]", "Could not parse hparam 'f' of type 'int' with value '1,x'"),
    ("zzz=1", "Unknown hyperparameter type for zzz"),
    ("aaa=1,aaa=2", "Multiple assignments to variable 'aaa'"),
    ("1aaa=1", "Malformed hyperparameter value: 1aaa=1"),
    ("aaa=[1,2]", "Must not pass a list for single-valued parameter: aaa"),
    ("f=3", "Must pass a list for multi-valued parameter: f."),
    ("f[0]=[1]", "Assignment of a list to a list index."),
    ("f[0]=3", "Must pass a list for multi-valued parameter: f."),
], ids=["int-from-float", "bad-bool", "bad-list-element", "unknown", "twice", "malformed", "list-to-scalar",
        "scalar-to-list", "list-to-index", "index-clause"])
def test_parse_errors(hp, text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(".", r"\.")):
        hp.parse(text)


def test_parse_values_index_and_ignore_unknown():
    assert parse_values("x=5,L=[1,2],arr[1]=3,arr[4]=7", {"x": int, "L": int, "arr": int}) == {
        "x": 5, "L": [1, 2], "arr": {1: 3, 4: 7}}
    assert parse_values("a=1,zz=2", {"a": int}, ignore_unknown=True) == {"a": 1}
    with pytest.raises(ValueError, match=r"Multiple assignments to variable 'arr\[1\]'"):
        parse_values("arr[1]=1,arr[1]=2", {"arr": int})
    with pytest.raises(ValueError, match="Multiple assignments to variable 'a'"):
        parse_values("a=1,a[0]=2", {"a": int})


def test_set_hparam_casts_like_contrib(hp):
    hp.set_hparam("b", 3)  # int -> float is allowed
    assert type(hp.b) is float and hp.b == 3.0
    hp.set_hparam("g", [1, 2])
    assert hp.g == [1.0, 2.0] and all(type(v) is float for v in hp.g)
    hp.set_hparam("n", "anything")  # a None-typed hparam accepts anything
    assert hp.n == "anything"
    for name, value in [("aaa", 1.5), ("aaa", True), ("e", 1), ("c_c", 3), ("b", "x")]:
        with pytest.raises(ValueError, match=f"Could not cast hparam '{name}'"):
            hp.set_hparam(name, value)
    with pytest.raises(KeyError):
        hp.set_hparam("nope", 1)


def test_json_round_trip_and_override(hp):
    text = hp.to_json(sort_keys=True)
    assert json.loads(text)["f"] == [1, 2] and text.index('"aaa"') < text.index('"b"')
    assert hp.to_json(indent=2).startswith('{\n  "aaa": 1')
    other = HParams(**json.loads(text))
    assert other.values() == hp.values()
    assert hp.parse_json('{"aaa": 7, "h": ["z"]}') is hp and hp.aaa == 7 and hp.h == ["z"]
    assert hp.override_from_dict({"b": 0.25}).b == 0.25
    with pytest.raises(KeyError):
        hp.parse_json('{"missing": 1}')


def test_get_checks_default_type(hp):
    assert hp.get("aaa") == 1 and hp.get("aaa", 5) == 1 and hp.get("missing", 9) == 9
    assert hp.get("f", [7]) == [1, 2]
    with pytest.raises(ValueError, match="Hparam 'aaa' of type '<class 'int'>' is incompatible with default=x"):
        hp.get("aaa", "x")
    with pytest.raises(ValueError, match="incompatible"):
        hp.get("f", 1)


def test_add_and_del(hp):
    hp.add_hparam("new", 3)
    assert hp.parse("new=4").new == 4
    with pytest.raises(ValueError, match="reserved: new"):
        hp.add_hparam("new", 5)
    hp.del_hparam("new")
    hp.del_hparam("never_there")
    assert "new" not in hp and not hasattr(hp, "new")
    hp.set_model_structure("tree")
    assert hp.get_model_structure() == "tree"


def test_mode_keys():
    assert (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.INFER) == ("train", "eval", "infer")
    ModeKeys.validate("infer")
    with pytest.raises(ValueError, match="Invalid mode 'predict'"):
        ModeKeys.validate("predict")
