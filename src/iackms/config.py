"""Profiles and configuration (`.iackms.yaml`, `[tool.iackms]` in
pyproject.toml, or `--config FILE`)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .vocab import CMMC_ALIAS_PATTERN, CMMC_TAGS, FAIL_ON, OPTIONS, PROFILES, SEVERITIES

CONFIG_KEYS = set(OPTIONS)


class ConfigError(Exception):
    pass


@dataclass
class Config:
    profile: str = "default"
    enable: set[str] = field(default_factory=set)
    disable: set[str] = field(default_factory=set)
    severity: dict[str, str] = field(default_factory=dict)
    rotation_max_days: int = 365
    deletion_window_min_days: int = 30
    required_tags: tuple[str, ...] | None = None  # None: the profile's default
    alias_pattern: str | None = None
    require_alias: bool = False
    trusted_accounts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str | None = None
    #: baseline file (relative to ``base_dir`` when set), None: no baseline
    baseline: str | None = None
    #: custom key store types that satisfy IKMS106
    custom_key_store_types: tuple[str, ...] = ("AWS_CLOUDHSM",)
    #: where the configuration came from (for messages)
    origin: str = ""
    #: `exclude` patterns are relative to this directory (the config file's), else to the current one
    base_dir: str | None = None

    # --- derived -----------------------------------------------------------
    def tags(self) -> tuple[str, ...]:
        if self.required_tags is not None:
            return self.required_tags
        if self.profile in ("cmmc-l2", "cmmc-l3", "strict"):
            return CMMC_TAGS
        return ()

    def alias_regex(self) -> str | None:
        if self.alias_pattern is not None:
            return self.alias_pattern
        if self.profile in ("cmmc-l2", "cmmc-l3", "strict"):
            return CMMC_ALIAS_PATTERN
        return None

    def baseline_path(self) -> str | None:
        """The configured baseline file, relative to the current directory
        when the configuration's own directory is not known."""
        if not self.baseline:
            return None
        if self.base_dir is None:
            return self.baseline
        import os

        return os.path.relpath(os.path.join(self.base_dir, self.baseline))

    def excluded(self, rel_path: str) -> bool:
        """``rel_path`` (relative to the current directory) matches an `exclude`
        pattern; patterns are relative to the configuration file's directory."""
        if not self.exclude:
            return False
        path = rel_path
        if self.base_dir is not None:
            import os

            path = os.path.relpath(os.path.abspath(rel_path), self.base_dir).replace(os.sep, "/")
        return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.rstrip("/") + "/*") for pat in self.exclude)


def _list_of_str(name: str, v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
        return tuple(str(x) for x in v)
    raise ConfigError(f"`{name}` must be a list of strings")


def _rule_ids(name: str, v: Any) -> set[str]:
    """Rule IDs (any case) or names (`public-principal`), as IDs."""
    from .rules import resolve_rule

    written = _list_of_str(name, v)
    ids = {x: resolve_rule(x) for x in written}
    bad = sorted(x for x, rid in ids.items() if rid is None)
    if bad:
        raise ConfigError(f"`{name}` names unknown rule(s): {', '.join(bad)} (see `iackms rules`)")
    return {rid for rid in ids.values() if rid is not None}


def from_mapping(data: Any, origin: str, base: Config | None = None) -> Config:
    """Validate a configuration mapping; errors name the key and the file."""
    from .rules import resolve_rule

    cfg = replace(base) if base else Config()
    cfg.origin = origin
    if data is None:
        return cfg
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the configuration must be a mapping")
    try:
        for k, v in data.items():
            key = str(k).replace("-", "_")
            if key not in CONFIG_KEYS:
                raise ConfigError(f"unknown key `{k}` (known: {', '.join(sorted(CONFIG_KEYS))})")
            if key == "profile":
                if v not in PROFILES:
                    raise ConfigError(f"`profile` must be one of {', '.join(PROFILES)}, not {v!r}")
                cfg.profile = v
            elif key in ("enable", "disable"):
                setattr(cfg, key, _rule_ids(key, v))
            elif key == "severity":
                if not isinstance(v, dict):
                    raise ConfigError("`severity` must map rule IDs to severities")
                sev = {}
                for rid, s in v.items():
                    rid_u = resolve_rule(str(rid))
                    if rid_u is None:
                        raise ConfigError(f"`severity` names unknown rule {rid} (see `iackms rules`)")
                    if str(s).lower() not in SEVERITIES:
                        raise ConfigError(f"`severity.{rid}` must be one of {', '.join(SEVERITIES)}")
                    sev[rid_u] = str(s).lower()
                cfg.severity = sev
            elif key in ("rotation_max_days", "deletion_window_min_days"):
                lo, hi = (90, 2560) if key == "rotation_max_days" else (7, 30)
                if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                    raise ConfigError(f"`{key}` must be a whole number of days from {lo} to {hi} (the range AWS accepts)")
                setattr(cfg, key, v)
            elif key == "required_tags":
                cfg.required_tags = _list_of_str(key, v)
            elif key == "alias_pattern":
                if not isinstance(v, str):
                    raise ConfigError("`alias_pattern` must be a regular expression string")
                try:
                    re.compile(v)
                except re.error as e:
                    raise ConfigError(f"`alias_pattern` is not a valid regular expression: {e}") from None
                cfg.alias_pattern = v
            elif key == "require_alias":
                if not isinstance(v, bool):
                    raise ConfigError("`require_alias` must be true or false")
                cfg.require_alias = v
            elif key == "trusted_accounts":
                accts = _list_of_str(key, v)
                for a in accts:
                    if not re.fullmatch(r"\d{12}", a):
                        raise ConfigError(f"`trusted_accounts` entry {a!r} is not a 12-digit AWS account ID")
                cfg.trusted_accounts = accts
            elif key == "exclude":
                cfg.exclude = _list_of_str(key, v)
            elif key == "baseline":
                if not isinstance(v, str) or not v.strip():
                    raise ConfigError("`baseline` must be the path of a baseline file")
                cfg.baseline = v
            elif key == "fail_on":
                if v not in FAIL_ON:
                    raise ConfigError(f"`fail_on` must be one of {', '.join(FAIL_ON)}, not {v!r}")
                cfg.fail_on = v
            elif key == "custom_key_store_types":
                types = _list_of_str(key, v)
                for t in types:
                    if t not in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"):
                        raise ConfigError("`custom_key_store_types` entries must be AWS_CLOUDHSM or EXTERNAL_KEY_STORE")
                cfg.custom_key_store_types = types
    except ConfigError as e:
        raise ConfigError(f"{origin}: {e}") from None
    return cfg


def load_file(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read configuration {path}: {e}") from None
    if path.name == "pyproject.toml":
        data = _pyproject_section(text, path)
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    cfg = from_mapping(data, str(path))
    cfg.base_dir = str(path.resolve().parent)
    return cfg


def _toml() -> Any:
    """``tomllib`` (Python 3.11+) or ``tomli``, the same parser for Python 3.10
    (an iackms dependency there); None when neither can be imported."""
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ModuleNotFoundError:
            return None
    return tomllib


def _pyproject_section(text: str, path: Path) -> Any:
    toml = _toml()
    if toml is None:
        raise ConfigError(
            f"{path}: [tool.iackms] cannot be read: this Python has no tomllib (3.11+) and the tomli package, "
            "which iackms requires on Python 3.10, is not installed (`pip install tomli`, or use .iackms.yaml)"
        )
    try:
        doc = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    tool = doc.get("tool")
    return tool.get("iackms") if isinstance(tool, dict) else None


def for_path(start: Path) -> Config:
    """The configuration `iackms scan START` uses: the file :func:`find_config`
    finds from ``start``, else the defaults. Raises :class:`ConfigError`."""
    found = find_config(start)
    return load_file(found) if found else Config()


def find_config(start: Path) -> Path | None:
    """`.iackms.yaml`/`.iackms.yml` or a pyproject.toml with [tool.iackms],
    from ``start`` upward to the repository root (the directory holding
    `.git`)."""
    d = start if start.is_dir() else start.parent
    d = d.resolve()
    while True:
        for name in (".iackms.yaml", ".iackms.yml"):
            if (d / name).is_file():
                return d / name
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                if re.search(r"^\[tool\.iackms\]", pp.read_text(encoding="utf-8", errors="replace"), re.M):
                    return pp
            except OSError:
                pass
        if (d / ".git").exists() or d.parent == d:
            return None
        d = d.parent
