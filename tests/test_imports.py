"""Start-up cost: the CLI imports only what a scan needs (the pre-commit
case is one small file, where import time is most of the run)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("yaml", "tree_sitter_json", "iackms.parsers.cloudformation", "iackms.cfnyaml", "iackms.reporters.sarif",
         "iackms.reporters.github", "iackms.docgen", "importlib.resources", "jsonschema", "checkov")


def loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_cli_is_light():
    mods = loaded_after("import iackms.cli")
    assert not [m for m in HEAVY if m in mods]
    assert "tree_sitter" not in mods  # not even the HCL parser until a .tf file is scanned


def test_a_terraform_scan_does_not_load_the_yaml_or_sarif_machinery(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n')
    mods = loaded_after(f"from iackms.cli import main\nmain(['scan', {str(tmp_path / 'main.tf')!r}, '--format', 'json', '--output', {str(tmp_path / 'o.json')!r}])")
    assert "tree_sitter_hcl" in mods
    assert not [m for m in HEAVY if m in mods]
