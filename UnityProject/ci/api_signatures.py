"""Keeps the CI stubs (UnityProject/ci/stubs) honest against the real Unity and ML-Agents APIs.

CI compiles the project with Mono against signature-only stubs, because neither Unity nor the
ML-Agents Runtime (C# 8/9) compiles with Mono. A stub member that does not exist in the real API,
or exists with another signature, would let code pass CI and fail in Unity. This script

* ``extract``s the public signatures (namespace, type, member, kind, modifiers incl. static,
  parameter and return types, obsolete-as-error) of the types the stubs declare from the real
  sources with a real C# parser (tree-sitter), into ``ci/api/<package>-<version>.json``: signatures
  only, no bodies or documentation. It needs the sources (a git clone and a tag); CI never runs it.
* ``diff``s the stubs against those files, once per supported pair (Unity 6 + ML-Agents 3.0.0,
  Unity 2022.3 + ML-Agents 2.3.0-exp.3), with the preprocessor symbols the CI compile uses: it
  fails when a stub type or member is missing from the real API or differs from it, when a stubbed
  interface lacks a member of the real one, or when a stub leaves out an abstract member.

Regenerate (the mirrors are public: needle-mirror/com.unity.ml-agents has the published packages
as tags, Unity-Technologies/UnityCsReference has Unity's C# reference source):

    python UnityProject/ci/api_signatures.py extract --git <ml-agents mirror> --rev 3.0.0 \\
        --out UnityProject/ci/api/mlagents-3.0.0.json
    python UnityProject/ci/api_signatures.py extract --git <ml-agents mirror> --rev 2.3.0-exp.3 \\
        --out UnityProject/ci/api/mlagents-2.3.0-exp.3.json
    python UnityProject/ci/api_signatures.py extract --git <UnityCsReference> --rev 6000.0.23f1 \\
        --out UnityProject/ci/api/unity-6000.0.23f1.json
    python UnityProject/ci/api_signatures.py extract --git <UnityCsReference> --rev 2022.3.62f1 \\
        --out UnityProject/ci/api/unity-2022.3.62f1.json
    python UnityProject/ci/api_signatures.py extract --git <com.unity.sentis mirror> --rev 2.1.0 \\
        --out UnityProject/ci/api/sentis-2.1.0.json
    python UnityProject/ci/api_signatures.py extract --git <com.unity.barracuda mirror> --rev 3.0.0 \\
        --out UnityProject/ci/api/barracuda-3.0.0.json
    python UnityProject/ci/api_signatures.py extract --git <com.unity.test-framework mirror> --rev 1.4.5 \\
        --out UnityProject/ci/api/test-framework-1.4.5.json
    python UnityProject/ci/api_signatures.py diff        # what ci/check runs
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = HERE / "stubs"
API = HERE / "api"

# The supported (Unity, ML-Agents) pairs: the symbols ci/check compiles the stubs with, and the
# extracted API files they are checked against.
VARIANTS = {
    "unity6-mlagents3": {
        "defines": {"UNITY_EDITOR", "UNITY_6000_0_OR_NEWER", "ENABLE_LEGACY_INPUT_MANAGER", "HIDESEEK_MLAGENTS_3"},
        "api": ("unity-6000.0.23f1.json", "mlagents-3.0.0.json", "sentis-2.1.0.json", "test-framework-1.4.5.json"),
    },
    "unity2022-mlagents2": {
        "defines": {"UNITY_EDITOR", "ENABLE_LEGACY_INPUT_MANAGER", "HIDESEEK_MLAGENTS_2"},
        "api": ("unity-2022.3.62f1.json", "mlagents-2.3.0-exp.3.json", "barracuda-3.0.0.json",
                "test-framework-1.4.5.json"),
    },
}

# Stub types whose package is not extracted, with the reason; reported on every diff (none now).
UNCHECKED: dict[str, str] = {}

# Real-source symbols: a player build (UNITY_EDITOR only for UnityEditor's own types).
REAL_DEFINES = {"UNITY_6000_0_OR_NEWER", "ENABLE_LEGACY_INPUT_MANAGER", "MLA_SUPPORTED_TRAINING_PLATFORM",
                "ENABLE_MONO", "UNITY_64", "UNITY_STANDALONE"}
EDITOR_DEFINES = REAL_DEFINES | {"UNITY_EDITOR"}

ACCESS = ("public", "protected", "internal", "private")
KEPT_MODIFIERS = ("static", "abstract", "virtual", "override", "sealed", "readonly", "const", "extern")
PRIMITIVES = {"Single": "float", "Int32": "int", "Boolean": "bool", "String": "string", "Double": "double",
              "Void": "void", "Int64": "long", "UInt32": "uint", "Byte": "byte"}


# ---------------------------------------------------------------------------------- preprocessor
def _eval_condition(expr: str, defines: set[str], where: str) -> bool:
    tokens = re.findall(r"\|\||&&|==|!=|!|\(|\)|\w+|\S", expr)
    out = []
    for t in tokens:
        if t == "&&":
            out.append(" and ")
        elif t == "||":
            out.append(" or ")
        elif t == "!":
            out.append(" not ")
        elif t in ("(", ")", "==", "!="):
            out.append(t)
        elif t == "true" or t == "false":
            out.append("True" if t == "true" else "False")
        elif re.fullmatch(r"\w+", t):
            out.append("True" if t in defines else "False")
        else:
            raise SystemExit(f"{where}: cannot evaluate preprocessor condition {expr!r}")
    return bool(eval("".join(out), {"__builtins__": {}}))  # only True/False/and/or/not/==/!= remain


def preprocess(text: str, defines: set[str], where: str) -> str:
    """Blank the lines that the C# preprocessor drops for ``defines`` (line numbers stay)."""
    defines = set(defines)
    lines = text.splitlines()
    out = []
    stack: list[tuple[bool, bool]] = []     # (this branch active, some branch of the group taken)
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        m = re.match(r"#\s*(if|elif|else|endif|define|undef|region|endregion|pragma|nullable|error|warning|line)\b(.*)",
                     stripped)
        active = all(a for a, _ in stack)
        if not m:
            out.append(line if active else "")
            continue
        kind, rest = m.group(1), re.sub(r"//.*", "", m.group(2)).strip()
        here = f"{where}:{number}"
        if kind == "if":
            value = _eval_condition(rest, defines, here)
            stack.append((value, value))
        elif kind == "elif":
            _, taken = stack.pop()
            value = not taken and _eval_condition(rest, defines, here)
            stack.append((value, taken or value))
        elif kind == "else":
            _, taken = stack.pop()
            stack.append((not taken, True))
        elif kind == "endif":
            stack.pop()
        elif kind == "define" and active:
            defines.add(rest)
        elif kind == "undef" and active:
            defines.discard(rest)
        out.append("")
    if stack:
        raise SystemExit(f"{where}: unterminated #if")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- parsing
def _parser():
    try:
        import tree_sitter_c_sharp
        from tree_sitter import Language, Parser
    except ImportError as e:  # pragma: no cover - the message is the point
        raise SystemExit(f"api_signatures: {e}; install the dev extra (tree-sitter, tree-sitter-c-sharp): "
                         "bash scripts/setup.sh") from e
    return Parser(Language(tree_sitter_c_sharp.language()))


def normalize_type(text: str) -> str:
    """A type as written, without namespace qualifiers or spacing: ``System.Collections.Generic.IList<float>`` ->
    ``IList<float>``, ``UnityEngine.Object`` -> ``Object``."""
    text = re.sub(r"\s+", "", text).replace("global::", "")
    text = re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", text)
    return re.sub(r"\b\w+\b", lambda m: PRIMITIVES.get(m.group(0), m.group(0)), text)


def _text(node) -> str:
    return node.text.decode("utf-8") if node is not None else ""


def _modifiers(node) -> list[str]:
    return [_text(c) for c in node.children if c.type == "modifier"]


def _access(mods: list[str], default: str) -> str:
    found = [m for m in ACCESS if m in mods]
    if not found:
        return default
    return " ".join(found)


def _obsolete(node) -> str | None:
    for attrs in (c for c in node.children if c.type == "attribute_list"):
        for attr in (c for c in attrs.children if c.type == "attribute"):
            name = _text(attr.child_by_field_name("name")).split(".")[-1]
            if name not in ("Obsolete", "ObsoleteAttribute"):
                continue
            args = [c for c in attr.children if c.type == "attribute_argument_list"]
            values = [_text(a).strip() for a in args[0].children if a.type == "attribute_argument"] if args else []
            return "error" if len(values) > 1 and values[1] == "true" else "warning"
    return None


def _params(node) -> tuple[list[str], list[str]]:
    """(full parameter texts, parameter types) of a parameter list."""
    full, types = [], []
    if node is None:
        return full, types
    children = list(node.children)
    for i, p in enumerate(children):
        if p.type == "params":   # tree-sitter lays `params T[] name` out flat in the list
            t = normalize_type(_text(children[i + 1]))
            full.append(f"params {t} {_text(children[i + 2])}")
            types.append(f"params {t}")
            continue
        if p.type not in ("parameter", "params_array"):
            continue
        mods = [_text(c) for c in p.children if c.type in ("modifier", "params")]
        if p.type == "params_array" and "params" not in mods:
            mods.append("params")
        typ = p.child_by_field_name("type")
        if typ is None:   # params_array: the array type is an unnamed child
            typ = next(c for c in p.children if c.type.endswith("type") or c.type in ("identifier", "generic_name"))
        name = _text(p.child_by_field_name("name"))
        default = ""
        seen_eq = False
        for c in p.children:
            if seen_eq:
                default = " = " + _literal(normalize_type(_text(c)))
                break
            seen_eq = c.type == "="
        t = normalize_type(_text(typ))
        full.append(" ".join(mods + [t, name]) + default)
        types.append(" ".join(mods + [t]))
    return full, types


def _accessors(node, owner_access: str) -> str:
    acc = node.child_by_field_name("accessors")
    if acc is None:   # expression-bodied
        return "{ get; }"
    parts = []
    for a in acc.children:
        if a.type != "accessor_declaration":
            continue
        mods = _modifiers(a)
        access = _access(mods, owner_access)
        if access in ("private", "internal", "private protected"):
            continue
        name = _text(a.child_by_field_name("name"))
        parts.append((access + " " if access != owner_access else "") + name + ";")
    return "{ " + " ".join(parts) + " }"


@dataclass
class TypeApi:
    name: str
    kind: str
    modifiers: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)
    members: dict[str, dict] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    # A partial type may state its accessibility in one part only.
    public: bool = False

    def merge(self, other: "TypeApi") -> None:
        self.members.update(other.members)
        self.modifiers |= other.modifiers
        self.bases |= other.bases
        self.files |= other.files
        self.public |= other.public


def _member_entries(node, type_kind: str, type_name: str, aliases: dict[str, str]) -> list[tuple[str, dict]]:
    """(key, {sig, obsolete, abstract}) of one member declaration; nothing for private ones."""
    mods = _modifiers(node)
    default_access = "public" if type_kind == "interface" else "private"
    access = _access(mods, default_access)
    if access not in ("public", "protected", "protected internal"):
        return []
    kept = [m for m in KEPT_MODIFIERS if m in mods and m != "extern"]
    if type_kind == "interface" and not node.child_by_field_name("body") and node.type == "method_declaration":
        kept = [m for m in kept if m != "abstract"]
    prefix = " ".join([access] + kept)
    obsolete = _obsolete(node)
    abstract = "abstract" in mods or (type_kind == "interface" and node.child_by_field_name("body") is None)
    out = []
    t = node.type
    if t == "method_declaration":
        name = _text(node.child_by_field_name("name"))
        tparams = _text(node.child_by_field_name("type_parameters"))
        full, types = _params(node.child_by_field_name("parameters"))
        ret = normalize_type(_text(node.child_by_field_name("returns") or node.child_by_field_name("type")))
        out.append((f"method {name}{tparams}({', '.join(types)})",
                    f"{prefix} {ret} {name}{tparams}({', '.join(full)})"))
    elif t == "constructor_declaration":
        full, types = _params(node.child_by_field_name("parameters"))
        if "static" in mods:
            return []
        out.append((f"constructor ({', '.join(types)})", f"{prefix} {type_name}({', '.join(full)})"))
    elif t in ("property_declaration", "indexer_declaration"):
        typ = normalize_type(_text(node.child_by_field_name("type")))
        if t == "indexer_declaration":
            full, types = _params(node.child_by_field_name("parameters"))
            out.append((f"indexer [{', '.join(types)}]",
                        f"{prefix} {typ} this[{', '.join(full)}] {_accessors(node, access)}"))
        else:
            name = _text(node.child_by_field_name("name"))
            out.append((f"property {name}", f"{prefix} {typ} {name} {_accessors(node, access)}"))
    elif t in ("field_declaration", "event_field_declaration"):
        decl = next(c for c in node.children if c.type == "variable_declaration")
        typ = normalize_type(_text(decl.child_by_field_name("type")))
        kind = "event" if t == "event_field_declaration" else "field"
        for v in decl.children:
            if v.type == "variable_declarator":
                name = _text(v.child_by_field_name("name"))
                out.append((f"{kind} {name}", f"{prefix} {'event ' if kind == 'event' else ''}{typ} {name}"))
    elif t == "event_declaration":
        typ = normalize_type(_text(node.child_by_field_name("type")))
        name = _text(node.child_by_field_name("name"))
        out.append((f"event {name}", f"{prefix} event {typ} {name}"))
    elif t == "operator_declaration":
        op = _text(node.child_by_field_name("operator"))
        full, types = _params(node.child_by_field_name("parameters"))
        ret = normalize_type(_text(node.child_by_field_name("type")))
        out.append((f"operator {op}({', '.join(types)})", f"{prefix} {ret} operator {op}({', '.join(full)})"))
    elif t == "conversion_operator_declaration":
        way = "implicit" if any(c.type == "implicit" for c in node.children) else "explicit"
        full, types = _params(node.child_by_field_name("parameters"))
        ret = normalize_type(_text(node.child_by_field_name("type")))
        out.append((f"conversion {way} {ret}({', '.join(types)})",
                    f"{prefix} {way} operator {ret}({', '.join(full)})"))
    def unalias(text: str) -> str:
        return re.sub(r"\b\w+\b", lambda m: aliases.get(m.group(0), m.group(0)), text) if aliases else text

    return [(unalias(k), {"sig": unalias(s), "obsolete": obsolete, "abstract": abstract}) for k, s in out]


def _literal(text: str) -> str:
    """Numeric literals in one spelling: 0f, 0.0f and 0.0F are the same default."""
    m = re.fullmatch(r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)([fFdDmM]?)", text)
    if not m or not re.search(r"[.eEfFdDmM]", text):
        return text
    return repr(float(m.group(1))) + m.group(2).lower()


def _enum_members(node) -> list[tuple[str, dict]]:
    out, nxt = [], 0
    known: dict[str, int] = {}
    body = node.child_by_field_name("body")
    for m in body.children if body is not None else []:
        if m.type != "enum_member_declaration":
            continue
        name = _text(m.child_by_field_name("name"))
        value_node = m.child_by_field_name("value")
        if value_node is None:
            value = nxt
        else:
            text = re.sub(r"\s+", "", _text(value_node))
            try:   # literals, shifts and ors of earlier members: 1 << 2, A | B
                value = int(eval(re.sub(r"\b[A-Za-z_]\w*\.(?=[A-Za-z_])", "", text), {"__builtins__": {}}, known))
            except Exception:
                value = text
        if isinstance(value, int):
            nxt = value + 1
            known[name] = value
        out.append((f"enum {name}", {"sig": f"{name} = {value}", "obsolete": _obsolete(m), "abstract": False}))
    return out


TYPE_NODES = {"class_declaration": "class", "struct_declaration": "struct", "interface_declaration": "interface",
              "enum_declaration": "enum", "record_declaration": "record"}


def collect_types(text: str, where: str, parser) -> dict[str, TypeApi]:
    """Public types (and their public members) declared in one preprocessed C# file."""
    tree = parser.parse(text.encode("utf-8"))
    types: dict[str, TypeApi] = {}
    # `using Alias = Some.Type;` (the stubs pick the policy model type this way).
    aliases = {m.group(1): normalize_type(m.group(2))
               for m in re.finditer(r"^\s*using\s+(\w+)\s*=\s*([\w.<>, ]+?)\s*;", text, re.M)}

    def visit(node, namespace: str, outer: str | None):
        for child in node.children:
            if child.type in ("namespace_declaration", "file_scoped_namespace_declaration"):
                ns = _text(child.child_by_field_name("name"))
                body = child.child_by_field_name("body")
                visit(body if body is not None else child, f"{namespace}.{ns}" if namespace else ns, None)
            elif child.type in TYPE_NODES:
                mods = _modifiers(child)
                access = _access(mods, "internal" if outer is None else "private")
                name = _text(child.child_by_field_name("name"))
                full = f"{outer}.{name}" if outer else (f"{namespace}.{name}" if namespace else name)
                api = types.setdefault(full, TypeApi(full, TYPE_NODES[child.type]))
                api.public |= access in ("public", "protected", "protected internal")
                api.files.add(where)
                api.modifiers |= {m for m in ("static", "abstract", "sealed", "readonly") if m in mods}
                for b in (c for c in child.children if c.type == "base_list"):
                    api.bases |= {normalize_type(_text(x)) for x in b.children if x.type not in (":", ",")}
                if child.type == "enum_declaration":
                    api.members.update(_enum_members(child))
                    continue
                body = child.child_by_field_name("body")
                for member in body.children if body is not None else []:
                    if member.type in TYPE_NODES:
                        continue
                    api.members.update(_member_entries(member, api.kind, name, aliases))
                if body is not None:
                    visit(body, namespace, full)
            elif child.type == "ERROR":
                raise SystemExit(f"{where}: C# parse error near {_text(child)[:80]!r}")
            elif child.type in ("declaration_list",):
                visit(child, namespace, outer)

    visit(tree.root_node, "", None)
    if tree.root_node.has_error:
        raise SystemExit(f"{where}: the C# parser reported a syntax error")
    return types


def stub_types(defines: set[str], parser) -> dict[str, TypeApi]:
    out: dict[str, TypeApi] = {}
    for path in sorted(STUBS.glob("*.cs")):
        rel = f"ci/stubs/{path.name}"
        for name, api in collect_types(preprocess(path.read_text(), defines, rel), rel, parser).items():
            out.setdefault(name, TypeApi(name, api.kind)).merge(api)
    return {name: api for name, api in out.items() if api.public}


# ---------------------------------------------------------------------------------- extract
def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def _repo_label(repo: Path) -> str:
    """owner/name of a clone: from its origin when it has one, else from a folder named owner+name."""
    try:
        url = _git(repo, "config", "--get", "remote.origin.url").strip()
    except subprocess.CalledProcessError:
        url = ""
    m = re.search(r"([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    folder = repo.resolve()
    folder = folder.parent if folder.name in ("repo", ".git") else folder
    return folder.name.replace("+", "/")


def extract(repo: Path, rev: str, out: Path) -> None:
    parser = _parser()
    wanted: set[str] = set()
    for variant in VARIANTS.values():
        wanted |= set(stub_types(variant["defines"], parser))
    wanted -= set(UNCHECKED)
    short = {name.rsplit(".", 1)[-1] for name in wanted}
    pattern = r"(class|struct|interface|enum)\s+(" + "|".join(sorted(short)) + r")\b"
    listing = _git(repo, "grep", "-l", "-E", pattern, rev, "--", "*.cs")
    found: dict[str, TypeApi] = {}
    skipped: list[str] = []
    for line in listing.splitlines():
        path = line.split(":", 1)[1]
        if "/Tests/" in path or path.startswith("Tests/"):
            continue
        text = _git(repo, "show", f"{rev}:{path}")
        defines = EDITOR_DEFINES if re.search(r"namespace\s+UnityEditor", text) else REAL_DEFINES
        try:
            types = collect_types(preprocess(text, defines, path), path, parser)
        except SystemExit as e:
            # tree-sitter-c-sharp trails the newest C# in a few files; they are listed in the output.
            print(f"api_signatures: skipped {e}", file=sys.stderr)
            skipped.append(path)
            continue
        for name, api in types.items():
            if name not in wanted:
                continue
            found.setdefault(name, TypeApi(name, api.kind)).merge(api)
    found = {name: api for name, api in found.items() if api.public}
    data = {
        "source": f"{_repo_label(repo)} at {rev}",
        "note": "Public signatures only (no code), extracted by UnityProject/ci/api_signatures.py extract.",
        "skipped_files": skipped,
        "types": {
            name: {"kind": api.kind, "modifiers": sorted(api.modifiers), "bases": sorted(api.bases),
                   "files": sorted(api.files), "members": dict(sorted(api.members.items()))}
            for name, api in sorted(found.items())
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    namespaces = {name.rsplit(".", 1)[0] for name in found}
    missing = sorted(n for n in wanted - set(found) if n.rsplit(".", 1)[0] in namespaces)
    print(f"api_signatures: {len(found)} types from {rev} -> {out}"
          + (f"; not in this source: {', '.join(missing)}" if missing else ""))


# ---------------------------------------------------------------------------------- diff
def _load_api(files: tuple[str, ...]) -> dict[str, dict]:
    real: dict[str, dict] = {}
    for name in files:
        path = API / name
        if not path.is_file():
            raise SystemExit(f"api_signatures: {path} is missing; regenerate it (see this script's docstring)")
        real.update(json.loads(path.read_text())["types"])
    return real


def diff_variant(name: str, variant: dict, parser) -> list[str]:
    real = _load_api(variant["api"])
    problems = []
    for type_name, stub in sorted(stub_types(variant["defines"], parser).items()):
        if type_name in UNCHECKED:
            continue
        where = f"{name}: {type_name}"
        r = real.get(type_name)
        if r is None:
            problems.append(f"{where}: no such public type in {' / '.join(variant['api'])}")
            continue
        if r["kind"] != stub.kind:
            problems.append(f"{where}: stub is a {stub.kind}, the real type a {r['kind']}")
        for mod in ("static", "abstract", "sealed", "readonly"):
            if (mod in stub.modifiers) != (mod in r["modifiers"]):
                problems.append(f"{where}: stub {'is' if mod in stub.modifiers else 'is not'} {mod}, the real type "
                                f"{'is' if mod in r['modifiers'] else 'is not'}")
        extra = stub.bases - set(r["bases"])
        # An attribute stub may derive from Attribute itself where the real one has an
        # intermediate attribute base from a package the stubs do not carry (NUnit's).
        if any(b.endswith("Attribute") for b in r["bases"]):
            extra.discard("Attribute")
        for base in sorted(extra):
            problems.append(f"{where}: stub derives from {base}, the real type from {', '.join(r['bases']) or 'nothing'}")
        members = r["members"]
        for key, m in sorted(stub.members.items()):
            rm = members.get(key)
            if rm is None:
                same_name = [v["sig"] for k, v in members.items() if k.split("(")[0].split("[")[0] == key.split("(")[0].split("[")[0]]
                problems.append(f"{where}: stub member `{m['sig']}` does not exist"
                                + (f"; real: {' | '.join(same_name)}" if same_name else ""))
                continue
            if rm["sig"] != m["sig"]:
                problems.append(f"{where}: stub `{m['sig']}`, real `{rm['sig']}`")
            if rm.get("obsolete") == "error":
                problems.append(f"{where}: `{rm['sig']}` is obsolete as an error in the real API")
            elif rm.get("obsolete"):
                print(f"api_signatures: note: {where}: `{rm['sig']}` is obsolete (a warning) in the real API")
        # A stub must not hide what an implementation or override has to provide.
        for key, rm in sorted(members.items()):
            if key in stub.members or rm.get("obsolete") == "error":
                continue
            if r["kind"] == "interface" or rm.get("abstract"):
                problems.append(f"{where}: stub lacks {'interface' if r['kind'] == 'interface' else 'abstract'} "
                                f"member `{rm['sig']}`")
    return problems


def diff() -> int:
    parser = _parser()
    problems = []
    for name, variant in VARIANTS.items():
        problems += diff_variant(name, variant, parser)
    for p in problems:
        print(f"api_signatures: {p}", file=sys.stderr)
    checked = ", ".join(f"{n} ({' + '.join(v['api'])})" for n, v in VARIANTS.items())
    print(f"api_signatures: stubs vs the real API, {checked}: {len(problems)} difference(s)"
          + (f"; unchecked: {', '.join(sorted(UNCHECKED))}" if UNCHECKED else ""))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="extract public signatures of the stubbed types from real sources")
    ex.add_argument("--git", type=Path, required=True, help="a git clone (a bare one works) of the sources")
    ex.add_argument("--rev", required=True, help="tag or commit, e.g. 3.0.0 or 6000.0.23f1")
    ex.add_argument("--out", type=Path, required=True)
    sub.add_parser("diff", help="compare the stubs with the extracted signatures (CI)")
    args = ap.parse_args(argv)
    if args.command == "extract":
        extract(args.git, args.rev, args.out)
        return 0
    return diff()


if __name__ == "__main__":
    sys.exit(main())
