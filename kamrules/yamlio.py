"""YAML loading that remembers where every value came from and refuses duplicate keys.

PyYAML silently keeps the last of two equal keys; a rulebook must not. Mappings load as
:class:`YDict` and sequences as :class:`YList`, both plain containers that also know their
file and the line of each key / item, so validation errors can point at ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import RulebookError
from .files import RefusedFile, read_regular
from .i18n import msg
from .limits import Limits, env_name
from .limits import current as current_limits


class YDict(dict):
    """A dict that knows its source file, its own line and the line of each key."""

    file: str | None = None
    line: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}
        self.key_files: dict[Any, str] = {}
        self.key_columns: dict[Any, int] = {}

    def line_of(self, key) -> int | None:
        return self.key_lines.get(key, self.line)

    def column_of(self, key) -> int | None:
        return self.key_columns.get(key)

    def file_of(self, key) -> str | None:
        return self.key_files.get(key, self.file)


class YList(list):
    """A list that knows its source file, its own line and the line of each item."""

    file: str | None = None
    line: int | None = None

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []
        self.item_files: list[str] = []
        self.item_columns: list[int] = []

    def line_of(self, index) -> int | None:
        if isinstance(index, int) and 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line

    def file_of(self, index) -> str | None:
        if isinstance(index, int) and 0 <= index < len(self.item_files):
            return self.item_files[index]
        return self.file

    def column_of(self, index) -> int | None:
        if isinstance(index, int) and 0 <= index < len(self.item_columns):
            return self.item_columns[index]
        return None


class _Loader(yaml.SafeLoader):
    """SafeLoader (no python tags) producing YDict/YList and rejecting duplicate keys, with
    the nesting depth bounded while composing (PyYAML's composer recurses)."""

    source_name = "<string>"
    max_depth = 40
    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise RulebookError(msg("yaml.too_deep", depth=self.max_depth), file=self.source_name,
                                    line=mark.line + 1, column=mark.column + 1,
                                    suggestion=msg("yaml.too_deep.hint", env=env_name("max_yaml_depth")))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(node, sizes: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded, counted without expanding anything."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that contains itself (a recursive alias) counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    else:
        size = 1
    sizes[id(node)] = size
    return size


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YDict:
    loader.flatten_mapping(node)
    result = YDict()
    result.file, result.line = loader.source_name, node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise RulebookError(
                msg("yaml.duplicate_key", name=key, line=result.key_lines[key]),
                file=loader.source_name, line=line, column=key_node.start_mark.column + 1,
                suggestion=msg("yaml.duplicate_key.hint"),
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
        result.key_columns[key] = key_node.start_mark.column + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> YList:
    result = YList(loader.construct_object(child, deep=True) for child in node.value)
    result.file, result.line = loader.source_name, node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    result.item_files = [loader.source_name] * len(node.value)
    result.item_columns = [child.start_mark.column + 1 for child in node.value]
    return result


MAX_INT = 10**18  # as in rule expressions (kamrules.expr.parser.MAX_INT)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """A YAML integer, refused (with its line) beyond 10^18: a 5,000-digit number would otherwise
    stop PyYAML with Python's own conversion error, and a huge one overflow a date later."""
    text = loader.construct_scalar(node)
    digits = sum(ch.isalnum() for ch in str(text))
    value = None
    if digits <= 64:
        try:
            value = yaml.SafeLoader.construct_yaml_int(loader, node)
        except ValueError:
            value = None
    if value is None or abs(value) > MAX_INT:
        shown = str(text) if len(str(text)) <= 30 else f"{str(text)[:20]}… ({len(str(text)):,} characters)"
        raise RulebookError(msg("yaml.number_too_large", text=shown), file=loader.source_name,
                            line=node.start_mark.line + 1, column=node.start_mark.column + 1)
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str, source_name: str, limits: Limits | None = None) -> Any:
    """Parse one YAML document; errors become :class:`RulebookError` with file and line."""
    limits = limits or current_limits()
    loader = _Loader(text)
    loader.source_name, loader.max_depth = source_name, limits.max_yaml_depth
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        values = _expanded_size(node, {})
        if values > limits.max_yaml_values:
            raise RulebookError(msg("yaml.alias_bomb", values=values, limit=limits.max_yaml_values),
                                file=source_name, suggestion=msg("yaml.alias_bomb.hint"))
        return loader.construct_document(node)
    except RulebookError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise RulebookError(
            msg("yaml.invalid", problem=exc.problem or exc.context),
            file=source_name, line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise RulebookError(msg("yaml.invalid", problem=str(exc)), file=source_name) from None
    except RecursionError:
        raise RulebookError(msg("yaml.too_nested"), file=source_name) from None
    finally:
        loader.dispose()


def load_yaml_file(path: Path, source_name: str | None = None, root: Path | None = None) -> Any:
    """The YAML document at ``path``, a regular file inside ``root`` (default: its own folder;
    see :mod:`kamrules.files`)."""
    name = source_name or str(path)
    limits = current_limits()
    try:
        data = read_regular(path, root if root is not None else path.parent, limits.max_yaml_bytes)
    except RefusedFile as exc:
        if exc.reason == "too_big":
            raise RulebookError(msg("yaml.too_big", size=exc.size, limit=limits.max_yaml_bytes), file=name,
                                suggestion=msg("yaml.too_big.hint", env=env_name("max_yaml_bytes"))) from None
        raise RulebookError(exc.words, file=name, suggestion=msg("file.refused.hint")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulebookError(
            msg("yaml.not_utf8", byte=exc.start), file=name, suggestion=msg("yaml.not_utf8.hint"),
        ) from None
    return load_yaml(text, name, limits)


def load_yaml_document(path: Path, name: str, kind: type, what: str, root: Path | None = None) -> Any:
    """A rule or test file: None when empty, else its top level must be ``kind`` (YDict or
    YList); ``what`` says what the file should be, for the error at line 1."""
    data = load_yaml_file(path, name, root)
    if data is not None and not isinstance(data, kind):
        raise RulebookError(what, file=name, line=1)
    return data


def locate(root: Any, loc: tuple) -> tuple[str | None, int | None, int | None]:
    """File, line and column of the deepest known key on the path ``loc`` below ``root``."""
    file, line, column, node = getattr(root, "file", None), getattr(root, "line", None), None, root
    for key in loc:
        if not isinstance(node, (YDict, YList)):
            break
        file = node.file_of(key) or file
        if node.line_of(key) is not None:
            line, column = node.line_of(key), node.column_of(key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return file, line, column
