"""Safe YAML reading that remembers where every key was written.

Input files are edited by hand, so every error has to point at a line. PyYAML's safe composer gives
the nodes with their marks; this module turns them into plain Python values and a map from key path
to line, refusing what a hand-written input never needs (aliases, duplicate keys, huge files).
"""

from __future__ import annotations

import codecs
import difflib
import re
import stat
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from sim.errors import SimError

MAX_BYTES = 1_000_000
MAX_DEPTH = 50
Lines = dict[tuple, int]
M = TypeVar("M", bound=pydantic.BaseModel)


class _Loader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise SimError("YAML aliases (*name) are not allowed here; write the values out",
                           file=self.name, line=mark.line + 1)
        if self.depth >= MAX_DEPTH:  # the composer recurses: stop before Python's stack does
            raise SimError(f"nested more than {MAX_DEPTH} levels deep; is it the right file?",
                           file=self.name, line=self.peek_event().start_mark.line + 1)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# PyYAML follows YAML 1.1, where 1e9 and 1.0e9 are strings; read them as the numbers they are (YAML 1.2)
_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a hand-edited text file: bounded size, UTF-8 (with or without BOM), not empty."""
    try:
        info = path.stat()
    except OSError as err:
        raise SimError(f"cannot read the file ({err.strerror}); check the path", file=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise SimError("is a folder; give a file in it", file=path)
    if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
        raise SimError("is not a regular file (a pipe, socket or device); give a file", file=path)
    size = info.st_size
    if size > max_bytes:
        raise SimError(f"file is {size:,} bytes, more than the {max_bytes:,} allowed for an input "
                       "file; is it the right file?", file=path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SimError(f"cannot read the file ({err.strerror}); check its permissions", file=path) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise SimError("is UTF-16 or UTF-32 text; save it as UTF-8", file=path)
    if b"\x00" in raw:
        raise SimError("is a binary file, not text; give the YAML or CSV file", file=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SimError("is not UTF-8 text (GBK?); save it as UTF-8", file=path, line=line) from None
    if not text.strip():
        raise SimError("file is empty", file=path)
    return text


def load_yaml(path: Path) -> tuple[Any, Lines]:
    """Return the document as plain Python values and the line of every key path."""
    text = read_text(path)
    try:
        loader = _Loader(text)  # checks every character first
    except yaml.reader.ReaderError as err:
        raise SimError(f"not valid YAML: the non-printable character U+{err.character:04X} is not "
                       "allowed; delete it", file=path, line=text.count("\n", 0, err.position) + 1) from None
    loader.name = str(path)
    try:
        node = loader.get_single_node()
    except SimError:
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise SimError(f"not valid YAML: {err.problem or err.context}", file=path, line=line) from None
    except yaml.YAMLError as err:
        raise SimError(f"not valid YAML: {err}", file=path) from None
    finally:
        loader.dispose()
    if node is None:
        raise SimError("file holds no YAML document", file=path)
    lines: Lines = {(): node.start_mark.line + 1}
    return _to_python(node, (), lines, loader, path), lines


def _to_python(node: yaml.Node, where: tuple, lines: Lines, loader: _Loader, path: Path) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SimError("a key must be a plain name", file=path, line=key_node.start_mark.line + 1)
            key = "<<" if key_node.tag == "tag:yaml.org,2002:merge" else _construct(key_node, loader, path)
            if key == "<<":
                raise SimError("merge keys (<<) are not allowed; write the values out",
                               file=path, line=key_node.start_mark.line + 1)
            here = (*where, key)
            if key in out:
                raise SimError(f"duplicate key (first at line {lines[here]}); keep one",
                               file=path, line=key_node.start_mark.line + 1, key=_dotted(here))
            lines[here] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, here, lines, loader, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*where, i)] = item.start_mark.line + 1
            items.append(_to_python(item, (*where, i), lines, loader, path))
        return items
    return _construct(node, loader, path)


def _construct(node: yaml.Node, loader: _Loader, path: Path) -> Any:
    """The value of a scalar; a tag or a plain value PyYAML cannot construct is a SimError."""
    try:
        return loader.construct_object(node)
    except yaml.MarkedYAMLError as err:  # an unknown tag: !foo, !!python/object, ...
        problem = err.problem or err.context
    except (ValueError, TypeError, AttributeError, KeyError):  # 2023-02-30, !!int x, !!bool x
        problem = f"cannot read {_short(node.value)!r} as {node.tag.rsplit(':', 1)[-1]}"
    raise SimError(f"not valid YAML: {problem}; quote it if it is text", file=path,
                   line=node.start_mark.line + 1)


def _short(text: object, width: int = 40) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def line_of(lines: Lines, loc: tuple) -> int | None:
    """Line of the longest prefix of ``loc`` that was written in the file."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def error_at(path: Path, lines: Lines, loc: tuple, message: str) -> SimError:
    """A SimError pointing at the key path ``loc`` of a loaded file."""
    return SimError(message, file=path, line=line_of(lines, loc), key=_dotted(loc) or None)


def validate(model: type[M], data: Any, lines: Lines, path: Path) -> M:
    """Validate ``data`` against a pydantic model; the first error becomes a one-line SimError."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        errors = err.errors(include_url=False)
        # a typo in a key shows up as an unknown key and a missing one: report the typo
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = _key_path(data, first["loc"])
        raise error_at(path, lines, loc, _describe(first, model, loc)) from None


def _key_path(data: Any, loc: tuple) -> tuple:
    """``loc`` without the union members pydantic puts in it: the parts that are keys (or items) of
    ``data`` as written, and a last part naming a missing key. A key of any spelling ('Region',
    'base-year') stays in, so that the error points at it."""
    out, here = [], data
    for i, part in enumerate(loc):
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and type(part) is int and 0 <= part < len(here):
            here = here[part]
        elif not (isinstance(here, dict) and i == len(loc) - 1 and not _is_union_tag(part)):
            continue
        out.append(part)
    return tuple(out)


def _is_union_tag(part: object) -> bool:
    # pydantic puts the union member it tried in the location ("function-after[...]", "float",
    # "constrained-float", "Shift"); keys in our files are snake_case
    return isinstance(part, str) and ("[" in part or "-" in part or part[:1].isupper()
                                      or part in {"float", "int", "str", "dict", "bool", "list"})


def _describe(error: dict, model: type[pydantic.BaseModel], loc: tuple) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        return ("unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
                + (f"; allowed here: {', '.join(allowed)}" if allowed else ""))
    if kind == "missing":
        return "required key is missing"
    msg = error["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "literal_error":
        return f"{msg} (got {error['input']!r})"
    return msg


def _allowed_keys(model: type[pydantic.BaseModel], loc: tuple) -> list[str]:
    """Field names of the model reached by following ``loc``; empty when it cannot be followed."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap_model(annotation)
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = getattr(annotation, "__args__", ())
            annotation = args[-1] if args else None
    annotation = _unwrap_model(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [field.alias or name for name, field in annotation.model_fields.items()]
    return []


def _unwrap_model(annotation: Any) -> Any:
    """From ``X | None`` or ``float | X`` pick the pydantic model, if any."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
            return arg
    return annotation
