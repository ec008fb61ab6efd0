"""@tool schemas are complete JSON Schema; arguments are validated and coerced."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, Optional

import jsonschema
import pydantic
import pytest

from workbench.errors import ToolError
from workbench.tools.coerce import ArgumentError, bind_arguments
from workbench.tools.decorator import tool
from workbench.tools.schema import parse_docstring
from workbench.tools.toolset import ToolSet


class Unit(enum.Enum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


@dataclass
class Point:
    """A point on the map.

    Args:
        lat: Latitude in degrees.
        lon: Longitude in degrees.
    """

    lat: float
    lon: float = 0.0


@dataclass
class Route:
    name: str
    stops: list[Point]
    unit: Unit = Unit.CELSIUS
    weights: dict[str, int] = field(default_factory=dict)
    via: Optional[Point] = None


class Address(pydantic.BaseModel):
    city: str
    zip_code: str | None = None


class Person(pydantic.BaseModel):
    name: str
    age: int
    home: Address


@tool
def plan_trip(route: Route, traveller: Person, mode: Literal["car", "train"] = "car",
              budget: int | None = None, tags: list[str] | None = None, night: bool = False) -> str:
    """Plan a trip along a route.

    Args:
        route: The route to follow.
        traveller: Who travels.
        mode: How to travel.
            Trains are slower but greener.
        budget: Most money to spend, in euros.
        tags: Labels for the trip.
        night: Travel by night.

    Returns:
        A summary.
    """
    return f"{route.name}:{len(route.stops)}:{route.stops[0].lat}:{traveller.home.city}:{mode}:{budget}:{night}"


def params(fn) -> dict:
    return fn.__tool_spec__["function"]["parameters"]


def test_nested_schema_is_complete_json_schema():
    schema = params(plan_trip)
    jsonschema.Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    # every $ref resolves inside the schema itself
    assert {"Route", "Point", "Unit", "Person", "Address"} <= set(defs)
    assert defs["Route"]["properties"]["stops"] == {"type": "array", "items": {"$ref": "#/$defs/Point"}}
    assert defs["Route"]["required"] == ["name", "stops"]
    assert defs["Point"]["properties"]["lat"]["description"] == "Latitude in degrees."
    assert defs["Unit"] == {"enum": ["C", "F"], "type": "string"}
    assert schema["properties"]["mode"]["enum"] == ["car", "train"]
    assert schema["properties"]["mode"]["default"] == "car"
    assert schema["properties"]["mode"]["description"] == "How to travel. Trains are slower but greener."
    assert schema["properties"]["budget"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert schema["required"] == ["route", "traveller"]
    assert plan_trip.__tool_spec__["function"]["description"] == "Plan a trip along a route."

    good = {"route": {"name": "r", "stops": [{"lat": 1.5}], "unit": "F", "via": None},
            "traveller": {"name": "Ann", "age": 30, "home": {"city": "Lyon"}}, "mode": "train"}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "mode": "plane"}, schema)
    with pytest.raises(jsonschema.ValidationError):  # a nested required field is enforced through $ref
        jsonschema.validate({**good, "traveller": {"name": "Ann", "age": 3, "home": {}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "route": {"name": "r", "stops": [{"lon": 2}]}}, schema)


def test_arguments_are_coerced_to_the_annotated_types():
    args = bind_arguments(plan_trip, {
        "route": {"name": "r", "stops": [{"lat": "2.5", "lon": 1}], "unit": "F", "weights": {"a": "3"}},
        "traveller": {"name": "Ann", "age": "30", "home": {"city": "Lyon"}},
        "budget": "120", "night": "true"})
    assert isinstance(args["route"], Route) and isinstance(args["route"].stops[0], Point)
    assert args["route"].stops[0].lat == 2.5 and args["route"].unit is Unit.FAHRENHEIT
    assert args["route"].weights == {"a": 3}
    assert isinstance(args["traveller"], Person) and args["traveller"].age == 30
    assert args["budget"] == 120 and args["night"] is True
    assert plan_trip(**args) == "r:1:2.5:Lyon:car:120:True"


def test_arguments_given_as_a_json_string_are_parsed():
    assert bind_arguments(plan_trip, '{"route": {"name": "r", "stops": []}, '
                                     '"traveller": {"name": "a", "age": 1, "home": {"city": "c"}}}')["route"].stops == []


@pytest.mark.parametrize("arguments, message", [
    ({"traveller": {}}, "missing required argument(s) route"),
    ({"route": {"name": "r", "stops": [{"lat": "north"}]}, "traveller": {"name": "a", "age": 1, "home": {"city": "c"}}},
     "route.stops[0].lat"),
    ({"route": {"name": "r", "stops": []}, "traveller": {"name": "a", "age": 1, "home": {"city": "c"}},
      "mode": "plane"}, "argument 'mode': expected one of"),
    ({"route": {"name": "r", "stops": [], "color": "red"}, "traveller": {}}, "unknown field(s) color"),
    ({"route": {"name": "r", "stops": []}, "traveller": {"name": "a", "age": "old", "home": {"city": "c"}}},
     "traveller"),
    ({"route": {"name": "r", "stops": []}, "traveller": {}, "speed": 3}, "unknown argument(s) speed"),
    ("not json", "must be a JSON object"),
])
def test_bad_arguments_name_what_is_wrong(arguments, message):
    with pytest.raises(ArgumentError) as info:
        bind_arguments(plan_trip, arguments)
    assert message in str(info.value)


def test_a_bad_argument_becomes_an_error_result_for_the_model():
    tools = ToolSet([plan_trip])
    res = tools.run_sync({"id": "c1", "name": "plan_trip", "arguments": {"route": {"name": "r"}}})
    assert res["is_error"] and res["id"] == "c1" and "missing" in res["content"]
    prepared = tools.prepare({"id": "c2", "name": "plan_trip", "arguments": {
        "route": {"name": "r", "stops": []}, "traveller": {"name": "a", "age": 1, "home": {"city": "c"}}}})
    assert prepared.fn is plan_trip and isinstance(prepared.args["route"], Route) and not prepared.is_async


def test_union_keeps_exact_types_and_bool_is_not_an_int():
    @tool
    def f(x: int | str, n: int = 0) -> str:
        return repr((x, n))

    assert bind_arguments(f, {"x": "3"})["x"] == "3"
    assert bind_arguments(f, {"x": 3})["x"] == 3
    with pytest.raises(ArgumentError):
        bind_arguments(f, {"x": 1, "n": True})


def test_docstring_styles():
    google = parse_docstring("""Do it.

    Args:
        a (int): First
            continued.
        b: Second.

    Returns:
        Nothing.
    """)
    assert google.summary == "Do it." and google.params == {"a": "First continued.", "b": "Second."}
    numpy = parse_docstring("""Do it.

    Parameters
    ----------
    a : int
        First value.
    b : str, optional
        Second.

    Returns
    -------
    int
    """)
    assert numpy.summary == "Do it." and numpy.params == {"a": "First value.", "b": "Second."}
    sphinx = parse_docstring("""Do it.

    :param a: First value.
    :param str b: Second.
    :returns: nothing
    """)
    assert sphinx.summary == "Do it." and sphinx.params == {"a": "First value.", "b": "Second."}


def test_async_tools_are_flagged_at_decoration_and_refused_by_the_sync_dispatcher():
    @tool
    async def slow(x: int) -> int:
        return x

    @tool
    def quick(x: int) -> int:
        return x

    assert slow.__tool_is_async__ is True and quick.__tool_is_async__ is False
    with pytest.raises(ValueError, match="workbench.aio"):
        ToolSet([slow]).run_sync({"id": "1", "name": "slow", "arguments": {"x": 1}})


def test_tool_options_and_bad_definitions():
    @tool(name="lookup", description="Find a thing.")
    def find(query: str) -> str:
        return query

    assert find.__tool_spec__["function"]["name"] == "lookup"
    assert find.__tool_spec__["function"]["description"] == "Find a thing."
    assert find("x") == "x"  # still a plain function

    with pytest.raises(ToolError, match="JSON Schema"):
        @tool
        def bad(x: complex) -> None: ...
    with pytest.raises(ToolError, match="needs a function"):
        tool(3)


def test_unknown_tool_and_raising_tool_become_error_results():
    @tool
    def explode() -> str:
        raise RuntimeError("boom")

    tools = ToolSet([explode])
    res = tools.run_sync({"id": "1", "name": "missing", "arguments": {}})
    assert res["is_error"] and "No tool named 'missing'" in res["content"] and "explode" in res["content"]
    res = tools.run_sync({"id": "2", "name": "explode", "arguments": {}})
    assert res["is_error"] and "RuntimeError: boom" in res["content"]


def test_concurrent_run_keeps_call_order():
    import threading
    import time

    seen = []

    @tool
    def work(n: int) -> int:
        seen.append(threading.current_thread().name)
        time.sleep(0.05 * (3 - n))
        return n * 10

    results = ToolSet([work]).run_many_sync([{"id": str(i), "name": "work", "arguments": {"n": i}}
                                             for i in range(3)], concurrent=True)
    assert [r["content"] for r in results] == ["0", "10", "20"]
    assert len(set(seen)) > 1


def test_bound_methods_become_tools_and_dataclass_results_are_json():
    class Store:
        def __init__(self):
            self.items = {"apple": 3}

        def stock(self, item: str, minimum: int = 0) -> Point:
            """Stock of an item.

            Args:
                item: The item name.
            """
            return Point(lat=float(self.items.get(item, 0)), lon=float(minimum))

    store = Store()
    fn = tool(store.stock)
    params_ = params(fn)
    assert list(params_["properties"]) == ["item", "minimum"] and params_["required"] == ["item"]
    assert params_["properties"]["item"]["description"] == "The item name."
    res = ToolSet([fn]).run_sync({"id": "1", "name": "stock", "arguments": {"item": "apple", "minimum": "2"}})
    assert res == {"id": "1", "name": "stock", "content": '{"lat": 3.0, "lon": 2.0}', "is_error": False}
    # ensure_tool returns the usable tool for a bound method given without @tool
    assert ToolSet([store.stock]).names() == ["stock"]
