"""JSON edits (CloudFormation templates and ``.tf.json``) by byte ranges of
the tree-sitter-json syntax tree: a value replaced where it is written, a
member removed with its comma (and its line, when it has one of its own),
a member added with the indentation of its neighbours — or on their line,
when the object is written on one line."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from ..jsonload import _parser
from ..model import Location
from . import render
from .edits import Edit, Lines, NotFixed, NotLiteral, neighbour, newline_of, scalar_text
from .hcl import local_address


def parses(text: str) -> bool:
    try:
        orjson.loads(text.encode("utf-8"))
        return True
    except orjson.JSONDecodeError:
        return False


class Editor:
    def __init__(self, text: str, rel: str, terraform: bool = False):
        self.text = text
        self.rel = rel
        self.terraform = terraform
        self.data = text.encode("utf-8")
        self.tree = _parser().parse(self.data)
        self.lines = Lines(text)
        self.nl = newline_of(text)
        self.broken = self.tree.root_node.has_error or not parses(text)
        self._ascii = len(self.data) == len(text)

    def c(self, byte: int) -> int:
        return byte if self._ascii else len(self.data[:byte].decode("utf-8", "replace"))

    def _at(self, loc: Location) -> Any:
        """The deepest string or object node that starts at ``loc``."""
        pt = (loc.line - 1, loc.column - 1)
        node = self.tree.root_node
        found = None
        while True:
            nxt = None
            for ch in node.children:
                s, e = tuple(ch.start_point), tuple(ch.end_point)
                if s <= pt < e or s == pt:
                    nxt = ch
                    break
            if nxt is None:
                return found
            if tuple(nxt.start_point) == pt and nxt.type in ("string", "object", "pair"):
                found = nxt
            node = nxt

    @staticmethod
    def _key(pair: Any) -> str:
        k = pair.child_by_field_name("key")
        try:
            v = orjson.loads(k.text)
        except (orjson.JSONDecodeError, AttributeError):
            return ""
        return v if isinstance(v, str) else ""

    def _pair(self, at: Location) -> Any:
        node = self._at(at)
        if node is not None and node.type == "string" and node.parent is not None and node.parent.type == "pair":
            node = node.parent
        if node is None or node.type != "pair":
            raise NotFixed(f"the attribute is not found at {self.rel}:{at.line}")
        return node

    # --- values -----------------------------------------------------------------
    def _literal(self, pair: Any) -> tuple[Any, bool]:
        v = pair.child_by_field_name("value")
        if v is not None and v.type in ("true", "false", "number"):
            return v, False
        if v is not None and v.type == "string":
            s = orjson.loads(v.text)
            if not (self.terraform and "${" in s):
                return v, True
        text = v.text.decode("utf-8", "replace") if v is not None else ""
        text = " ".join(text.split())
        raise NotLiteral(f"set by {text if len(text) <= 60 else text[:59] + '…'}")

    def literal_text(self, at: Location) -> str:
        v, _ = self._literal(self._pair(at))
        return v.text.decode("utf-8", "replace")

    def set(self, at: Location, value: Any) -> tuple[list[Edit], str]:
        return self._set(self._pair(at), value)

    def _set(self, pair: Any, value: Any) -> tuple[list[Edit], str]:
        v, quoted = self._literal(pair)
        new = scalar_text(value)
        if quoted:
            new = f'"{new}"'
        old = v.text.decode("utf-8", "replace")
        if old == new:
            raise NotFixed("the value is already " + new)
        return [Edit(self.c(v.start_byte), self.c(v.end_byte), new)], f'"{self._key(pair)}": {new} (was {old})'

    def remove(self, at: Location) -> tuple[list[Edit], str]:
        pair = self._pair(at)
        self._literal(pair)
        obj = pair.parent
        pairs = [c for c in obj.children if c.type == "pair"]
        i = next(n for n, p in enumerate(pairs) if p.id == pair.id)
        if len(pairs) == 1:
            raise NotFixed(f'"{self._key(pair)}" is the only member of its object')
        if i + 1 < len(pairs):  # up to the next member (its comma and line break included)
            nxt = pairs[i + 1]
            if self._own_line(pair) and self._own_line(nxt):
                start, end = self.lines.start(pair.start_point[0]), self.lines.start(nxt.start_point[0])
            else:
                start, end = self.c(pair.start_byte), self.c(nxt.start_byte)
        else:  # the last member: from the end of the one before (its comma) to this one's end
            start, end = self.c(pairs[i - 1].end_byte), self.c(pair.end_byte)
        return [Edit(start, end, "")], f'removed "{self._key(pair)}"'

    def _own_line(self, node: Any) -> bool:
        row_start = self.data.rfind(b"\n", 0, node.start_byte) + 1
        return not self.data[row_start:node.start_byte].strip()

    # --- references ---------------------------------------------------------------
    def replace_reference(self, at: Location, key: str, to: str) -> tuple[list[Edit], str]:
        """CloudFormation ``{"Ref": "Key"}`` -> ``{"Fn::GetAtt": ["Key", "Arn"]}``;
        ``.tf.json`` ``${aws_kms_key.k.id}`` -> ``${aws_kms_key.k.arn}``."""
        pair = self._pair(at)
        value = pair.child_by_field_name("value")
        edits: list[Edit] = []
        local = local_address(key) if self.terraform else None
        pattern = (re.compile(r"(?<![\w.])(" + re.escape(f"{local[0]}.{local[1]}") + r"(?:\[[^\]]*\])?)\.(?:id|key_id)\b")
                   if local else None)
        att = {"arn": "Arn", "key_id": "KeyId"}.get(to, to)
        stack = [value] if value is not None else []
        while stack:
            n = stack.pop()
            if self.terraform and n.type == "string" and pattern is not None:
                text = n.text.decode("utf-8", "replace")
                new = pattern.sub(lambda m: f"{m.group(1)}.{to}", text)
                if new != text:
                    edits.append(Edit(self.c(n.start_byte), self.c(n.end_byte), new))
                continue
            if not self.terraform and n.type == "object":
                pairs = [c for c in n.children if c.type == "pair"]
                if len(pairs) == 1 and self._key(pairs[0]) == "Ref":
                    rv = pairs[0].child_by_field_name("value")
                    if rv is not None and rv.type == "string" and orjson.loads(rv.text) == key:
                        # the member is replaced, the braces and the layout around it kept
                        edits.append(Edit(self.c(pairs[0].start_byte), self.c(pairs[0].end_byte),
                                          f'"Fn::GetAtt": [{orjson.dumps(key).decode()}, "{att}"]'))
                        continue
                if len(pairs) == 1 and self._key(pairs[0]) == "Fn::GetAtt":
                    gv = pairs[0].child_by_field_name("value")
                    if gv is not None and gv.type == "string" and orjson.loads(gv.text) == f"{key}.KeyId":
                        edits.append(Edit(self.c(gv.start_byte), self.c(gv.end_byte), orjson.dumps(f"{key}.{att}").decode()))
                    elif gv is not None and gv.type == "array":
                        items = [c for c in gv.children if c.type == "string"]
                        if len(items) == 2 and orjson.loads(items[0].text) == key and orjson.loads(items[1].text) == "KeyId":
                            edits.append(Edit(self.c(items[1].start_byte), self.c(items[1].end_byte), f'"{att}"'))
                    continue
            stack.extend(n.children)
        if not edits:
            raise NotFixed(f"the key is not written here as {'its ID' if self.terraform else f'{{Ref: {key}}}'}")
        named = f"{local[0]}.{local[1]}.{to}" if self.terraform and local else f"Fn::GetAtt {key}.{att}"
        return edits, f'"{self._key(pair)}": {named} (was its ID)'

    # --- key policy statements ------------------------------------------------------
    def add_statement(self, at: Location, statement: dict) -> tuple[list[Edit], str]:
        """Append ``statement`` to ``KeyPolicy.Statement`` (the member at ``at``)."""
        pair = self._pair(at)
        policy = pair.child_by_field_name("value")
        if policy is None or policy.type != "object":
            raise NotFixed("the key policy is written as JSON text" if policy is not None and policy.type == "string"
                           else "the key policy is not written as an object")
        st = self._member(policy, "Statement")
        arr = st.child_by_field_name("value") if st is not None else None
        if arr is None or arr.type != "array":
            raise NotFixed("the key policy's Statement is not a list")
        items = [c for c in arr.children if c.type not in ("[", "]", ",", "comment")]
        sid = statement.get("Sid", "")
        what = f"added statement {sid!r} to the key policy" if sid else "added a statement to the key policy"
        compact = json.dumps(statement, ensure_ascii=False)
        if not items:
            return [Edit(self.c(arr.start_byte), self.c(arr.end_byte), f"[{compact}]")], what
        last = items[-1]
        if not self._own_line(last):
            return [Edit(self.c(last.end_byte), self.c(last.end_byte), ", " + compact)], what
        ind = self.lines.indent(last.start_point[0])
        inner = self.lines.indent(last.start_point[0] + 1) if last.end_point[0] > last.start_point[0] else ind + "  "
        unit = inner[len(ind):] if inner.startswith(ind) and len(inner) > len(ind) else "  "
        body = (self.nl + ind).join(render.json_lines(statement, unit))
        return [Edit(self.c(last.end_byte), self.c(last.end_byte), "," + self.nl + ind + body)], what

    # --- adding a member ----------------------------------------------------------------
    def _object(self, at: Location) -> Any:
        node = self._at(at)
        if node is not None and node.type in ("string", "pair"):
            pair = node if node.type == "pair" else node.parent
            node = pair.child_by_field_name("value") if pair is not None and pair.type == "pair" else None
        if node is None or node.type != "object":
            raise NotFixed(f"the resource is not found at {self.rel}:{at.line}")
        return node

    def _member(self, obj: Any, name: str) -> Any:
        return next((p for p in obj.children if p.type == "pair" and self._key(p) == name), None)

    def insert(self, res_at: Location, name: str, value: Any, after: list[str], before: list[str], container: str | None) -> tuple[list[Edit], str]:
        obj = self._object(res_at)
        member = f"{orjson.dumps(name).decode()}: {scalar_text(value)}"
        if container is not None:
            props = self._member(obj, container)
            if props is None:
                return self._add(obj, [f"{orjson.dumps(container).decode()}: {{", member, "}"], after=None), f"added {member}"
            obj = props.child_by_field_name("value")
            if obj is None or obj.type != "object":
                raise NotFixed(f"{container} is not an object")
        existing = self._member(obj, name)
        if existing is not None:  # written, but not as the model saw it: set it
            return self._set(existing, value)
        pairs = [c for c in obj.children if c.type == "pair"]
        by_name = {self._key(p): p for p in pairs}
        anchor, where = neighbour(by_name, after, before)
        if anchor is None:
            return self._add(obj, [member], after=pairs[-1] if pairs else None), f"added {member}"
        return self._add(obj, [member], **{where: anchor}), f"added {member}"

    def _add(self, obj: Any, member: list[str], after: Any = None, before: Any = None) -> list[Edit]:
        """Edits adding one member (``member``: its lines, the first and the
        last at the member's indentation, the others one level deeper)."""
        pairs = [c for c in obj.children if c.type == "pair"]
        ref = after if after is not None else before if before is not None else (pairs[-1] if pairs else None)
        if ref is None:  # an empty object
            close = obj.children[-1]
            inner = " ".join(member)
            return [Edit(self.c(obj.children[0].end_byte), self.c(close.start_byte), inner)]
        multi = self._own_line(ref)
        if multi:
            ind = self.lines.indent(ref.start_point[0])
            parent_ind = self.lines.indent(obj.start_point[0])
            unit = ind[len(parent_ind):] if ind.startswith(parent_ind) and len(ind) > len(parent_ind) else "  "
            body = [member[0], *[unit + m for m in member[1:-1]], member[-1]] if len(member) > 1 else member
            text = (self.nl + ind).join(body)
            if before is not None:
                return [Edit(self.c(before.start_byte), self.c(before.start_byte), text + "," + self.nl + ind)]
            return [Edit(self.c(ref.end_byte), self.c(ref.end_byte), "," + self.nl + ind + text)]
        text = " ".join(member)
        if before is not None:
            return [Edit(self.c(before.start_byte), self.c(before.start_byte), text + ", ")]
        return [Edit(self.c(ref.end_byte), self.c(ref.end_byte), ", " + text)]
