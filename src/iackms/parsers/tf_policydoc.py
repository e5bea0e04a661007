"""``data "aws_iam_policy_document"`` converted to the policy JSON shape,
merging ``source_policy_documents`` / ``override_policy_documents`` by Sid
the way the AWS provider does. Each statement is an LDict located at its
``statement`` block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import jsonload
from ..model import Choice, LDict, LList, Location, Unknown
from .tf_hcl import Block
from .tf_values import DocDict, LStr, err, is_err

if TYPE_CHECKING:
    from .tf_expr import Ev

_LISTS = (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"), ("not_resources", "NotResource"))


def expand_blocks(parent: Block, name: str, ev: "Ev", env: dict[str, Any]) -> list[Any]:
    """Nested blocks ``name`` of ``parent`` including ``dynamic "name"``
    blocks, in the order written: ``(block, env)`` pairs, or an Unknown where
    a dynamic block's collection is not static."""
    found = [b for b in parent.get_blocks(name)]
    found += [b for b in parent.get_blocks("dynamic") if b.labels[:1] == [name]]
    found.sort(key=lambda b: (b.loc.line, b.loc.column))
    out: list[Any] = []
    for b in found:
        if b.type == name:
            out.append((b, env))
            continue
        it_name = name
        if "iterator" in b.attrs:
            t = b.attrs["iterator"].text().strip()
            if t.isidentifier():
                it_name = t
        fe = b.attrs.get("for_each")
        coll = ev.attr(fe, env) if fe is not None else None
        if isinstance(coll, dict):
            pairs = list(coll.items())
        elif isinstance(coll, list):
            pairs = list(enumerate(coll))
        else:
            out.append(coll if isinstance(coll, Unknown) else Unknown(fe.text() if fe is not None else "dynamic " + name))
            continue
        contents = b.get_blocks("content")
        for k, v in pairs:
            env2 = dict(env)
            env2[it_name] = LDict({"key": k, "value": v})
            for c in contents:
                out.append((c, env2))
    return out


def _val(b: Block, name: str, ev: "Ev", env: dict[str, Any]) -> Any:
    return ev.attr(b.attrs[name], env)


def _principals(b: Block, name: str, ev: "Ev", env: dict[str, Any]) -> Any:
    items = expand_blocks(b, name, ev, env)
    if not items:
        return None
    out = LDict()
    star = False
    for it in items:
        if not isinstance(it, tuple):
            return it  # an unknown dynamic block: the whole element is unknown
        pb, penv = it
        if out.loc is None:
            out.loc = pb.loc
        ptype = _val(pb, "type", ev, penv) if "type" in pb.attrs else err("principals.type")
        ids = _val(pb, "identifiers", ev, penv) if "identifiers" in pb.attrs else err("principals.identifiers")
        if not isinstance(ptype, str):
            return ptype if isinstance(ptype, (Unknown, Choice)) else err(str(ptype))
        if ptype == "*":
            star = True
        if isinstance(ids, list):
            dst = out.setdefault(ptype, LList(loc=pb.loc))
            if isinstance(dst, list):
                dst.extend(ids)
            out.key_locs.setdefault(ptype, pb.loc)
        else:
            out[ptype] = ids
            out.key_locs[ptype] = pb.loc
    if star and list(out.keys()) == ["*"] and isinstance(out["*"], list) and all(x == "*" for x in out["*"]):
        return "*"
    return out


def _conditions(b: Block, ev: "Ev", env: dict[str, Any]) -> Any:
    items = expand_blocks(b, "condition", ev, env)
    if not items:
        return None
    out = LDict()
    for it in items:
        if not isinstance(it, tuple):
            return it
        cb, cenv = it
        if out.loc is None:
            out.loc = cb.loc
        test = _val(cb, "test", ev, cenv) if "test" in cb.attrs else err("condition.test")
        var = _val(cb, "variable", ev, cenv) if "variable" in cb.attrs else err("condition.variable")
        values = _val(cb, "values", ev, cenv) if "values" in cb.attrs else err("condition.values")
        if not isinstance(test, str) or not isinstance(var, str):
            return test if not isinstance(test, str) else var
        ops = out.setdefault(test, LDict(loc=cb.loc))
        out.key_locs.setdefault(test, cb.loc)
        if not isinstance(ops, dict):
            continue
        if var in ops and isinstance(ops[var], list) and isinstance(values, list):
            ops[var] = LList(list(ops[var]) + list(values), loc=ops[var].loc)
        else:
            ops[var] = values
        ops.key_locs.setdefault(var, cb.loc)
    return out


def convert_statement(b: Block, ev: "Ev", env: dict[str, Any]) -> LDict:
    st = LDict(loc=b.loc)
    a = b.attrs
    if "sid" in a:
        sid = _val(b, "sid", ev, env)
        if sid is not None and sid != "":
            st["Sid"] = sid
            st.key_locs["Sid"] = a["sid"].loc
    effect = _val(b, "effect", ev, env) if "effect" in a else None
    st["Effect"] = "Allow" if effect is None else effect
    st.key_locs["Effect"] = a["effect"].loc if "effect" in a else b.loc
    for tf, js in _LISTS:
        if tf in a:
            v = _val(b, tf, ev, env)
            if v is not None:
                st[js] = v
                st.key_locs[js] = a[tf].loc
    for tf, js in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        p = _principals(b, tf, ev, env)
        if p is not None:
            st[js] = p
            st.key_locs[js] = getattr(p, "loc", None) or b.loc
    c = _conditions(b, ev, env)
    if c is not None:
        st["Condition"] = c
        st.key_locs["Condition"] = getattr(c, "loc", None) or b.loc
    return st


def _as_doc(v: Any, loc: Location) -> Any:
    if isinstance(v, dict) or isinstance(v, (Unknown, Choice)) or v is None:
        return v
    if isinstance(v, str):
        try:
            if isinstance(v, LStr) and v.loc is not None:
                return jsonload.load(v, v.loc.file, v.loc.line - 1)
            return jsonload.load(v, loc.file, loc.line - 1)
        except jsonload.JsonError:
            return err(v[:200])
    return err(repr(v)[:200])


def _stmts_of(doc: Any) -> list[Any]:
    if isinstance(doc, (Unknown, Choice)):
        return [doc if isinstance(doc, Unknown) else Unknown(doc.expr)]
    if not isinstance(doc, dict):
        return []
    s = doc.get("Statement")
    if s is None:
        return []
    if isinstance(s, dict):
        return [s]
    if isinstance(s, list):
        return list(s)
    return [s if isinstance(s, Unknown) else Unknown("Statement")]


def _merge(into: list[Any], new: list[Any]) -> None:
    for st in new:
        sid = st.get("Sid") if isinstance(st, dict) else None
        if not isinstance(sid, str) or sid == "":
            into.append(st)
            continue
        for i, ex in enumerate(into):
            if isinstance(ex, dict) and ex.get("Sid") == sid:
                into[i] = st
                break
        else:
            into.append(st)


def _doc_list(blk: Block, name: str, ev: "Ev") -> list[Any] | Unknown | None:
    if name not in blk.attrs:
        return None
    v = ev.attr(blk.attrs[name], {})
    if v is None:
        return None
    if isinstance(v, list):
        return [_as_doc(x, blk.attrs[name].loc) for x in v]
    if name in ("source_json", "override_json"):
        return [_as_doc(v, blk.attrs[name].loc)]
    return v if isinstance(v, Unknown) else Unknown(blk.attrs[name].text())


def convert_document(blk: Block, ev: "Ev", expr: str) -> Any:
    """The policy document as a DocDict (``Version``, ``Id``,
    ``Statement``)."""
    doc = DocDict(loc=blk.loc)
    version: Any = "2012-10-17"
    if "version" in blk.attrs:
        v = ev.attr(blk.attrs["version"], {})
        if v is not None:
            version = v
    doc["Version"] = version
    if "version" in blk.attrs:
        doc.key_locs["Version"] = blk.attrs["version"].loc
    statements: list[Any] = []
    for src_name in ("source_json", "source_policy_documents"):
        docs = _doc_list(blk, src_name, ev)
        if isinstance(docs, Unknown):
            statements.append(docs)
        elif docs:
            for d in docs:
                if is_err(d):
                    return d
                _merge(statements, _stmts_of(d))
    own: list[Any] = []
    for it in expand_blocks(blk, "statement", ev, {}):
        if isinstance(it, tuple):
            own.append(convert_statement(it[0], ev, it[1]))
        else:
            own.append(it)
    _merge(statements, own)
    for ov_name in ("override_json", "override_policy_documents"):
        docs = _doc_list(blk, ov_name, ev)
        if isinstance(docs, Unknown):
            return Unknown(expr)  # any statement may be replaced: nothing is known
        if docs:
            for d in docs:
                if isinstance(d, (Unknown, Choice)):
                    return d if is_err(d) else Unknown(expr)
                _merge(statements, _stmts_of(d))
    if "policy_id" in blk.attrs:
        pid = ev.attr(blk.attrs["policy_id"], {})
        if pid is not None:
            doc["Id"] = pid
            doc.key_locs["Id"] = blk.attrs["policy_id"].loc
    doc["Statement"] = LList(statements, loc=blk.loc)
    doc.key_locs["Statement"] = blk.loc
    return doc
