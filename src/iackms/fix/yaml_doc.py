"""CloudFormation YAML edits, line by line: a value is replaced where it is
written (its quoting kept), an attribute removed with its line, an attribute
added as a line with the indentation of its mapping. Comments, anchors, tags
and every other line are kept. Flow-style mappings (``{A: 1}``) are left
alone, with a reason."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..model import Location
from . import render
from .edits import Edit, Lines, NotFixed, NotLiteral, delete_rows, insert_lines, neighbour, newline_of, scalar_text

_CORE = "tag:yaml.org,2002:"
#: a value written in double (single) quotes: the quoting a template prefers
_DOUBLE = re.compile(r'(?:^|[:\-]\s)\s*"', re.M)
_SINGLE = re.compile(r"(?:^|[:\-]\s)\s*'", re.M)
#: a short-form intrinsic function anywhere in a template
_SHORT_TAG = re.compile(r"(?:^|[\s\[{,:-])!(?:Ref|Sub|GetAtt|If|Join|Select|Split|FindInMap|ImportValue|Base64|Equals|Not|And|Or|Condition|GetAZs|Cidr)\b", re.M)


def _compose(text: str) -> Any:
    # the pure-Python loader: its marks are character offsets (libyaml's may count bytes)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _cfn_attribute(to: str) -> str:
    """The CloudFormation spelling of a key attribute (``arn`` -> ``Arn``)."""
    return {"arn": "Arn", "key_id": "KeyId"}.get(to, to)


def parses(text: str) -> bool:
    try:
        _compose(text)
        return True
    except yaml.YAMLError:
        return False


class Editor:
    def __init__(self, text: str, rel: str):
        self.text = text
        self.rel = rel
        self.lines = Lines(text)
        self.nl = newline_of(text)
        try:
            self.root = _compose(text)
            self.broken = False
        except yaml.YAMLError:
            self.root = None
            self.broken = True
        #: (line, column) of a key (0-based) -> (mapping, key node, value node)
        self.pairs: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        self._index(self.root)

    def _index(self, root: Any) -> None:
        stack = [root] if root is not None else []
        seen: set[int] = set()
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue  # an alias
            seen.add(id(n))
            if isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    self.pairs.setdefault((k.start_mark.line, k.start_mark.column), (n, k, v))
                    stack.append(v)
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)

    def _pair(self, at: Location) -> tuple[Any, Any, Any]:
        hit = self.pairs.get((at.line - 1, at.column - 1))
        if hit is None:  # a column counted differently: the one key on that line
            on_line = [p for (ln, _), p in self.pairs.items() if ln == at.line - 1]
            if len(on_line) == 1:
                hit = on_line[0]
        if hit is None:
            raise NotFixed(f"the attribute is not found at {self.rel}:{at.line}")
        return hit

    # --- values ---------------------------------------------------------------
    @staticmethod
    def _literal(v: Any) -> Any:
        if isinstance(v, yaml.ScalarNode) and v.tag.startswith(_CORE) and v.style in (None, "", '"', "'"):
            return v
        if isinstance(v, yaml.ScalarNode) and v.style in ("|", ">"):
            raise NotFixed("the value is a block scalar")
        if v.tag and v.tag.startswith("!") and not v.tag.startswith("!!"):
            raise NotLiteral(f"set by {v.tag} …")
        raise NotLiteral("set by an intrinsic function")

    def literal_text(self, at: Location) -> str:
        v = self._literal(self._pair(at)[2])
        return self.text[v.start_mark.index:v.end_mark.index]

    def set(self, at: Location, value: Any) -> tuple[list[Edit], str]:
        _, k, v = self._pair(at)
        return self._set(k, v, value)

    def _set(self, k: Any, v: Any, value: Any) -> tuple[list[Edit], str]:
        v = self._literal(v)
        new = scalar_text(value)
        if v.style in ('"', "'"):
            new = f"{v.style}{new}{v.style}"
        old = self.text[v.start_mark.index:v.end_mark.index]
        if old == new:
            raise NotFixed("the value is already " + new)
        return [Edit(v.start_mark.index, v.end_mark.index, new)], f"{k.value}: {new} (was {old})"

    def remove(self, at: Location) -> tuple[list[Edit], str]:
        m, k, v = self._pair(at)
        self._literal(v)
        if m.flow_style:
            raise NotFixed("the mapping is written in flow style ({…})")
        if len(m.value) == 1:
            raise NotFixed(f"{k.value} is the only entry of its mapping")
        row = k.start_mark.line
        if self.lines.content(row)[: k.start_mark.column].strip():
            raise NotFixed("the attribute shares its line with other YAML")
        last = v.end_mark.line
        return [delete_rows(self.lines, row, last)], f"removed {k.value}"

    # --- references ---------------------------------------------------------------
    def replace_reference(self, at: Location, key: str, to: str) -> tuple[list[Edit], str]:
        """``!Ref Key`` (or ``Ref: Key``, in any branch of the value) ->
        ``!GetAtt Key.Arn`` (``Fn::GetAtt: [Key, Arn]``)."""
        _, k, v = self._pair(at)
        att = _cfn_attribute(to)
        edits: list[Edit] = []
        stack, seen = [v], set()
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            if isinstance(n, yaml.ScalarNode) and n.tag == "!Ref" and n.value == key:
                edits.append(Edit(n.start_mark.index, n.end_mark.index, f"!GetAtt {key}.{att}"))
            elif isinstance(n, yaml.ScalarNode) and n.tag == "!GetAtt" and n.value == f"{key}.KeyId":
                edits.append(Edit(n.start_mark.index, n.end_mark.index, f"!GetAtt {key}.{att}"))
            elif isinstance(n, yaml.SequenceNode) and n.tag == "!GetAtt":
                edits.extend(self._get_att_list(n, key, att))
            elif isinstance(n, yaml.MappingNode):
                if len(n.value) == 1 and n.value[0][0].value == "Ref" and isinstance(n.value[0][1], yaml.ScalarNode) \
                        and n.value[0][1].value == key:
                    rk, rv = n.value[0]
                    edits.append(Edit(rk.start_mark.index, rk.end_mark.index, "Fn::GetAtt"))
                    edits.append(Edit(rv.start_mark.index, rv.end_mark.index, f"[{key}, {att}]"))
                    continue
                if len(n.value) == 1 and n.value[0][0].value == "Fn::GetAtt":
                    gv = n.value[0][1]
                    if isinstance(gv, yaml.SequenceNode):
                        edits.extend(self._get_att_list(gv, key, att))
                    elif isinstance(gv, yaml.ScalarNode) and gv.value == f"{key}.KeyId":
                        edits.append(Edit(gv.start_mark.index, gv.end_mark.index, f"{key}.{att}"))
                    continue
                stack.extend(x for pair in n.value for x in pair)
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)
        if not edits:
            raise NotFixed(f"the key is not written here as `!Ref {key}` or `!GetAtt {key}.KeyId`")
        return edits, f"{k.value}: !GetAtt {key}.{att} (was its ID)"

    def _get_att_list(self, n: Any, key: str, att: str) -> list[Edit]:
        """``[Key, KeyId]`` -> ``[Key, Arn]``."""
        v = n.value
        if len(v) == 2 and all(isinstance(x, yaml.ScalarNode) for x in v) and v[0].value == key and v[1].value == "KeyId":
            return [Edit(v[1].start_mark.index, v[1].end_mark.index, att)]
        return []

    # --- key policy statements ------------------------------------------------------
    def add_statement(self, at: Location, statement: dict) -> tuple[list[Edit], str]:
        """Append ``statement`` to ``KeyPolicy.Statement`` (the pair at ``at``)."""
        _, k, v = self._pair(at)
        if isinstance(v, yaml.ScalarNode):
            raise NotFixed("the key policy is written as JSON text")
        policy = self._block_mapping(v, k.value) if isinstance(v, yaml.MappingNode) and v.tag == "tag:yaml.org,2002:map" else None
        if policy is None:
            raise NotFixed(f"the key policy is written as `{v.tag}`" if v.tag.startswith("!") else "the key policy is not a mapping")
        st = next(((sk, sv) for sk, sv in policy.value if sk.value == "Statement"), None)
        if st is None or not isinstance(st[1], yaml.SequenceNode):
            raise NotFixed("the key policy's Statement is not a list")
        seq = st[1]
        if seq.flow_style or not seq.value:
            raise NotFixed("the key policy's Statement is written in flow style ([…])")
        last = seq.value[-1]
        line = self.lines.content(last.start_mark.line)
        dash = line.rfind("-", 0, last.start_mark.column)
        if dash < 0 or line[:dash].strip():
            raise NotFixed("the key policy's statements are not laid out one per item")
        content = last.start_mark.column
        # a template written with short tags (!Sub, !Ref) gets its intrinsic functions so
        body = render.yaml_lines(statement, short_tags=_SHORT_TAG.search(self.text) is not None,
                                 double_quotes=len(_DOUBLE.findall(self.text)) > len(_SINGLE.findall(self.text)))
        new = [" " * dash + "-" + " " * (content - dash - 1) + body[0], *(" " * content + b for b in body[1:])]
        row = self._last_row(st[0], seq) + 1
        sid = statement.get("Sid", "")
        return [insert_lines(self.lines, row, new, self.nl)], (f"added statement {sid!r} to the key policy" if sid else
                                                                 "added a statement to the key policy")

    # --- adding an attribute --------------------------------------------------------
    def _last_row(self, k: Any, v: Any) -> int:
        """The last line a key's value is written on (not the comments and
        blank lines after it)."""
        end = v.end_mark
        row = end.line
        if end.column == 0 or not self.lines.content(row)[: end.column].strip():
            row -= 1
        while row > k.start_mark.line and self.lines.blank_or_comment(row):
            row -= 1
        return max(row, k.start_mark.line)

    def _block_mapping(self, node: Any, what: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise NotFixed(f"{what} is not a mapping")
        if node.flow_style:
            raise NotFixed(f"{what} is written in flow style ({{…}})")
        if not node.value:
            raise NotFixed(f"{what} is empty")
        return node

    def insert(self, res_at: Location, name: str, value: Any, after: list[str], before: list[str], container: str | None) -> tuple[list[Edit], str]:
        _, lid, res = self._pair(res_at)
        res = self._block_mapping(res, f"resource {lid.value}")
        text = f"{name}: {scalar_text(value)}"
        target = res
        if container is not None:
            props = next(((k, v) for k, v in res.value if k.value == container), None)
            if props is None:  # no Properties yet: add them after the resource's last entry
                k_last, v_last = res.value[-1]
                col = k_last.start_mark.column
                unit = max(col - lid.start_mark.column, 2)
                ind = " " * col
                row = self._last_row(k_last, v_last) + 1
                return [insert_lines(self.lines, row, [f"{ind}{container}:", f"{ind}{' ' * unit}{text}"], self.nl)], f"added {text}"
            target = self._block_mapping(props[1], container)
        by_name = {k.value: (k, v) for k, v in target.value}
        if name in by_name:  # written, but not as the model saw it: set it
            return self._set(*by_name[name], value)
        anchor, where = neighbour(by_name, after, before)
        if anchor is None:
            anchor = target.value[-1]
        k, v = anchor
        if self.lines.content(k.start_mark.line)[: k.start_mark.column].strip():
            raise NotFixed("the mapping's first entry shares its line with other YAML")
        ind = " " * k.start_mark.column
        row = self._last_row(k, v) + 1 if where == "after" else k.start_mark.line
        return [insert_lines(self.lines, row, [f"{ind}{text}"], self.nl)], f"added {text}"
