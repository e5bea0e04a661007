"""The composite action (`action.yml`) and the documented workflows.

actionlint lints workflows, not action metadata, so action.yml is checked
here by reading it (composite, inputs, no `${{ }}` inside scripts, upload
with `if: always()`...), by wrapping its steps in a workflow for actionlint,
and by running its scan and fail steps locally with bash, the way the runner
would: the step's `env:` resolved from the inputs, a temporary
`GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`, and `iackms` from this venv."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "docs" / "examples" / "workflows").glob("*.yml"))
SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
if not SCHEMA.is_file():
    SCHEMA = Path("/work/shared/schemas/sarif-schema-2.1.0.json")
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BAD_KEY = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n'
GOOD_KEY = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n'
HAS_TF = importlib.util.find_spec("iackms.parsers.terraform") is not None
needs_tf = pytest.mark.skipif(not HAS_TF, reason="the Terraform parser (iackms.parsers.terraform) is not available yet")


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def steps(action: dict) -> list[dict]:
    return action["runs"]["steps"]


def step(action: dict, step_id: str) -> dict:
    return next(s for s in steps(action) if s.get("id") == step_id)


# --- the metadata -------------------------------------------------------------------


def test_composite_with_the_documented_inputs(action):
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"path", "profile", "config", "fail-on", "sarif-file", "upload-sarif", "version", "inventory", "baseline"} <= set(inputs)
    assert inputs["baseline"]["default"] == ""
    assert inputs["path"]["default"] == "."
    assert inputs["fail-on"]["default"] == ""  # the configuration's fail_on, else low
    assert inputs["sarif-file"]["default"] == "iackms.sarif"
    assert inputs["upload-sarif"]["default"] == "true"
    assert inputs["version"]["default"] == ""
    assert all(spec.get("description") for spec in inputs.values())
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.scan.outputs.exit-code }}"
    assert action["outputs"]["sarif-file"]["value"] == "${{ steps.scan.outputs.sarif-file }}"


def test_no_expression_inside_any_script(action):
    """Inputs reach the shell through env: only (no script injection)."""
    for s in steps(action):
        if "run" in s:
            assert "${{" not in s["run"], f"step {s.get('name')!r} interpolates an expression into its script"
            assert s.get("shell") == "bash"


def test_every_input_reference_exists(action):
    used = set()
    for expr in [*EXPR.findall(ACTION.read_text(encoding="utf-8")), *(s.get("if", "") for s in steps(action))]:
        used |= set(re.findall(r"inputs\.([\w-]+)", expr))
    assert used <= set(action["inputs"])
    assert set(action["inputs"]) <= used, "every input is used"


def test_step_order_and_conditions(action):
    s = steps(action)
    assert s[0]["uses"].startswith("actions/setup-python@")
    assert str(s[0]["with"]["python-version"]) == "3.12"
    names = [x.get("id") or x.get("uses", "").split("@")[0] for x in s]
    upload = next(x for x in s if x.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert names.index("scan") < s.index(upload) < len(s) - 1
    assert upload["if"].startswith("always() && inputs.upload-sarif == 'true'")
    assert upload["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}"
    last = s[-1]
    assert last["if"] == "always()"
    assert last["env"]["IACKMS_EXIT_CODE"] == "${{ steps.scan.outputs.exit-code }}"


def test_install_from_the_action_checkout_or_a_pinned_version(action):
    install = step(action, "install")
    assert install["env"] == {"IACKMS_VERSION": "${{ inputs.version }}"}
    assert 'pip install --disable-pip-version-check --quiet "$GITHUB_ACTION_PATH"' in install["run"]
    assert '"iackms==$IACKMS_VERSION"' in install["run"]


def test_scans_once_with_annotations_and_sarif(action):
    scan = step(action, "scan")
    script = scan["run"]
    assert len(re.findall(r"^\s*iackms ", script, re.M)) == 1
    assert "--format github --format sarif --output" in script
    assert "exit-code=" in script and "$GITHUB_OUTPUT" in script
    assert set(scan["env"]) == {"IACKMS_PATH", "IACKMS_PROFILE", "IACKMS_CONFIG", "IACKMS_FAIL_ON", "IACKMS_SARIF_FILE", "IACKMS_BASELINE"}


# --- actionlint and shellcheck -------------------------------------------------------


def _tool(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.is_file() else shutil.which(name)


def _as_workflow(action: dict) -> dict:
    """The action's steps as a reusable workflow, so actionlint (and the
    shellcheck it runs on every script) can check them."""
    inputs = {k: {"type": "string", "required": False, "default": str(v.get("default", ""))} for k, v in action["inputs"].items()}
    return {"name": "action.yml", "on": {"workflow_call": {"inputs": inputs}}, "permissions": {"contents": "read"},
            "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps(action)}}}


@pytest.mark.skipif(not _tool("actionlint"), reason="actionlint is not installed")
def test_actionlint_documented_workflows():
    assert WORKFLOWS, "docs/examples/workflows/*.yml"
    res = subprocess.run([_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(not _tool("actionlint"), reason="actionlint is not installed")
def test_actionlint_action_steps(action, tmp_path):
    wf = tmp_path / "action.yml"
    wf.write_text(yaml.safe_dump(_as_workflow(action), sort_keys=False), encoding="utf-8")
    res = subprocess.run([_tool("actionlint"), "-no-color", str(wf)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed")
def test_shellcheck_action_scripts(action, tmp_path):
    for s in steps(action):
        if "run" in s:
            f = tmp_path / f"{s['name'].replace(' ', '_')}.sh"
            f.write_text("#!/usr/bin/env bash\n" + s["run"], encoding="utf-8")
            res = subprocess.run(["shellcheck", "-S", "style", str(f)], capture_output=True, text=True)
            assert res.returncode == 0, res.stdout


def test_documented_workflows(action):
    docs = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    assert WORKFLOWS, "docs/examples/workflows/*.yml"
    for wf in WORKFLOWS:
        text = wf.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        assert doc["permissions"]["contents"] == "read"
        for job in doc["jobs"].values():
            for st in job["steps"]:
                assert "${{" not in st.get("run", ""), f"{wf.name}: expression inside a script"
                if st.get("uses", "").startswith("iackms/iackms@"):
                    assert set(st.get("with", {})) <= set(action["inputs"])
                    if st.get("with", {}).get("upload-sarif", True) is not False:
                        assert doc["permissions"].get("security-events") == "write", wf.name
        # the page shows each workflow in full (from its name: line on)
        assert text[text.index("name:"):].strip() in docs, f"{wf.name} is shown in docs/github-action.md"


# --- running the steps locally --------------------------------------------------------


def _resolve(value: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    def one(m: re.Match) -> str:
        expr = m.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        m2 = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m2:
            return outputs.get(m2.group(1), {}).get(m2.group(2), "")
        raise AssertionError(f"unexpected expression in env: {expr}")

    return EXPR.sub(one, value)


def _outputs(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


class Runner:
    """Runs the action's `run:` steps as the runner would (bash -eo pipefail)."""

    def __init__(self, action: dict, workspace: Path, tmp: Path, **given: str):
        self.action = action
        self.workspace = workspace
        self.inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        self.inputs.update({k.replace("_", "-"): v for k, v in given.items()})
        self.summary = tmp / "step_summary.md"
        self.outputs: dict[str, dict[str, str]] = {}
        self.tmp = tmp

    def run(self, step_id_or_index: str | int) -> subprocess.CompletedProcess:
        s = step(self.action, step_id_or_index) if isinstance(step_id_or_index, str) else steps(self.action)[step_id_or_index]
        out_file = self.tmp / f"output_{s.get('id', 'step')}"
        out_file.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IACKMS_", "RUNNER_"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(GITHUB_OUTPUT=str(out_file), GITHUB_STEP_SUMMARY=str(self.summary), GITHUB_ACTION_PATH=str(ROOT),
                   GITHUB_WORKSPACE=str(self.workspace), GITHUB_ACTIONS="true")
        env.update({k: _resolve(str(v), self.inputs, self.outputs) for k, v in s.get("env", {}).items()})
        script = self.tmp / f"{s.get('id', 'step')}.sh"
        script.write_text(s["run"], encoding="utf-8")
        res = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=self.workspace,
                             env=env, capture_output=True, text=True, timeout=300)
        if s.get("id"):
            self.outputs[s["id"]] = _outputs(out_file)
        return res

    def fail_step(self) -> subprocess.CompletedProcess:
        return self.run(len(steps(self.action)) - 1)

    def action_output(self, name: str) -> str:
        return _resolve(self.action["outputs"][name]["value"], self.inputs, self.outputs)


def _validate_sarif(path: Path) -> dict:
    import jsonschema

    doc = json.loads(path.read_text(encoding="utf-8"))
    if SCHEMA.is_file():
        jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    return doc


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    (ws / "infra").mkdir(parents=True)
    return ws


@needs_tf
def test_action_steps_with_a_bad_key(action, workspace, tmp_path):
    (workspace / "infra" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    r = Runner(action, workspace, tmp_path)
    scan = r.run("scan")
    assert scan.returncode == 0, scan.stderr  # the scan step records the code, it does not fail
    assert r.action_output("exit-code") == "1"
    assert r.action_output("sarif-file") == "iackms.sarif"
    assert "::warning file=infra/main.tf,line=2,endLine=2,col=3,title=IKMS101 rotation-disabled::" in scan.stdout
    doc = _validate_sarif(workspace / "iackms.sarif")
    results = doc["runs"][0]["results"]
    assert any(x["ruleId"] == "IKMS101" and x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/main.tf"
               for x in results)
    summary = r.summary.read_text(encoding="utf-8")
    assert "## iackms:" in summary and "IKMS101" in summary
    fail = r.fail_step()
    assert fail.returncode == 1
    assert "::error title=iackms::KMS findings" in fail.stdout


@needs_tf
def test_action_steps_below_fail_on(action, workspace, tmp_path):
    (workspace / "infra" / "main.tf").write_text(GOOD_KEY, encoding="utf-8")
    r = Runner(action, workspace, tmp_path, fail_on="high", sarif_file="out/iackms.sarif", path="infra")
    (workspace / "out").mkdir()
    assert r.run("scan").returncode == 0
    assert r.action_output("exit-code") == "0"
    assert r.outputs["scan"]["sarif-written"] == "true"
    _validate_sarif(workspace / "out" / "iackms.sarif")
    assert r.fail_step().returncode == 0


@needs_tf
def test_action_uses_the_configurations_fail_on_and_follows_modules_of_a_root(action, workspace, tmp_path):
    """`fail_on` in .iackms.yaml does what it says in the Action (the input is empty by default), and
    `path: envs/prod` follows `../../modules/kms` in the repository."""
    (workspace / ".git").mkdir()
    (workspace / "modules" / "kms").mkdir(parents=True)
    (workspace / "modules" / "kms" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    (workspace / "envs" / "prod").mkdir(parents=True)
    (workspace / "envs" / "prod" / "main.tf").write_text('module "kms" {\n  source = "../../modules/kms"\n}\n', encoding="utf-8")
    (workspace / ".iackms.yaml").write_text("fail_on: high\n", encoding="utf-8")
    r = Runner(action, workspace, tmp_path, path="envs/prod")
    scan = r.run("scan")
    assert "file=modules/kms/main.tf,line=2," in scan.stdout and "module.kms.aws_kms_key" in scan.stdout, scan.stdout + scan.stderr
    assert r.action_output("exit-code") == "0"  # medium and low findings, fail_on: high
    r = Runner(action, workspace, tmp_path, path="envs/prod", fail_on="medium")
    r.run("scan")
    assert r.action_output("exit-code") == "1"


@needs_tf
def test_action_steps_paths_and_profile(action, workspace, tmp_path):
    odd = workspace / "dir with spaces"
    odd.mkdir()
    (odd / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    (workspace / "-dash").mkdir()
    (workspace / "-dash" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    (workspace / "infra" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    r = Runner(action, workspace, tmp_path, path="dir with spaces\n-dash\n", profile="cis")
    scan = r.run("scan")
    assert r.action_output("exit-code") == "1", scan.stderr
    assert "file=dir with spaces/main.tf," in scan.stdout and "file=-dash/main.tf," in scan.stdout
    assert "file=infra/" not in scan.stdout
    uris = {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for x in _validate_sarif(workspace / "iackms.sarif")["runs"][0]["results"]}
    assert uris == {"dir%20with%20spaces/main.tf", "-dash/main.tf"}


def test_inventory_step(action):
    inv = step(action, "inventory")
    assert inv["if"] == "inputs.inventory == 'true' && steps.scan.outputs.exit-code != '2'"
    assert action["inputs"]["inventory"]["default"] == "false"
    assert set(inv["env"]) == {"IACKMS_PATH", "IACKMS_PROFILE", "IACKMS_CONFIG"}
    assert len(re.findall(r"^\s*iackms ", inv["run"], re.M)) == 1 and "(inventory --format github)" in inv["run"]
    names = [x.get("id") or x.get("name") for x in steps(action)]
    assert names.index("scan") < names.index("inventory") < len(names) - 1  # the fail step stays last


@needs_tf
def test_action_steps_inventory_in_the_job_summary(action, workspace, tmp_path):
    (workspace / "infra" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    r = Runner(action, workspace, tmp_path, inventory="true", path="infra")
    assert r.run("scan").returncode == 0
    res = r.run("inventory")
    assert res.returncode == 0, res.stdout + res.stderr
    summary = r.summary.read_text(encoding="utf-8")
    assert summary.index("## iackms:") < summary.index("# KMS key inventory")  # after the findings
    assert "`aws_kms_key.k`" in summary and "`infra/main.tf:1`" in summary and "Automatic rotation | false" in summary
    assert r.fail_step().returncode == 1  # the inventory never changes the verdict


def test_action_steps_inventory_error(action, workspace, tmp_path):
    r = Runner(action, workspace, tmp_path, inventory="true", path="missing-dir")
    res = r.run("inventory")
    assert res.returncode == 2 and "::error title=iackms::the inventory failed (exit code 2)" in res.stdout


@needs_tf
def test_action_steps_with_a_baseline(action, workspace, tmp_path):
    """Findings in the baseline neither annotate nor fail; SARIF keeps them as unchanged; a new one fails."""
    (workspace / "infra" / "main.tf").write_text(BAD_KEY, encoding="utf-8")
    made = subprocess.run([sys.executable, "-m", "iackms", "baseline", "--output", "security/iackms-baseline.json"],
                          cwd=workspace, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    r = Runner(action, workspace, tmp_path, baseline="security/iackms-baseline.json")
    scan = r.run("scan")
    assert r.action_output("exit-code") == "0", scan.stdout + scan.stderr
    assert "::warning" not in scan.stdout and "::error" not in scan.stdout
    results = _validate_sarif(workspace / "iackms.sarif")["runs"][0]["results"]
    assert results and {x["baselineState"] for x in results} == {"unchanged"}
    assert "baselined finding(s) remain" in r.summary.read_text(encoding="utf-8")
    assert r.fail_step().returncode == 0
    (workspace / "infra" / "new.tf").write_text(BAD_KEY.replace('"k"', '"k2"'), encoding="utf-8")
    r2 = Runner(action, workspace, tmp_path, baseline="security/iackms-baseline.json")
    scan = r2.run("scan")
    assert r2.action_output("exit-code") == "1"
    assert "file=infra/new.tf," in scan.stdout and "file=infra/main.tf," not in scan.stdout
    states = {(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], x["baselineState"])
              for x in _validate_sarif(workspace / "iackms.sarif")["runs"][0]["results"]}
    assert ("infra/new.tf", "new") in states and ("infra/main.tf", "unchanged") in states


def test_action_steps_no_injection(action, workspace, tmp_path):
    """Inputs are data: nothing in them is run."""
    canary = tmp_path / "pwned"
    evil = f'$(touch {canary})`touch {canary}`"; touch {canary}; echo "'
    r = Runner(action, workspace, tmp_path, path=evil, profile=evil, config="", fail_on="low", inventory="true")
    r.run("scan")
    r.run("inventory")
    assert not canary.exists()
    assert r.action_output("exit-code") == "2"  # an unknown profile is a usage error
    assert r.outputs["scan"]["sarif-written"] == "false"
    fail = r.fail_step()
    assert fail.returncode == 2 and "iackms failed (exit code 2)" in fail.stdout
    r = Runner(action, workspace, tmp_path, path=evil, config=evil, sarif_file=evil)
    r.run("scan")
    assert not canary.exists()
    assert r.action_output("sarif-file") == evil


def test_action_steps_error_without_sarif(action, workspace, tmp_path):
    (workspace / "iackms.sarif").write_text("stale", encoding="utf-8")
    r = Runner(action, workspace, tmp_path, config="missing.yaml")
    r.run("scan")
    assert r.action_output("exit-code") == "2"
    assert r.outputs["scan"]["sarif-written"] == "false", "a stale SARIF file is never uploaded"
    assert r.fail_step().returncode == 2


def test_fail_step_when_the_scan_never_ran(action, workspace, tmp_path):
    r = Runner(action, workspace, tmp_path)
    fail = r.fail_step()
    assert fail.returncode == 2 and "the scan did not run" in fail.stdout


def test_sarif_file_output_cannot_inject_outputs(action, workspace, tmp_path):
    r = Runner(action, workspace, tmp_path, sarif_file="x.sarif\nexit-code=0")
    res = r.run("scan")
    assert res.returncode == 2
    assert "exit-code" not in r.outputs["scan"]
