"""`--format github`: workflow commands (escaping, levels, order) and the job
summary written to `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

import dataclasses

import pytest

from iackms.docgen import rule_url
from iackms.findings import Finding, Report
from iackms.reporters import github as gh
from iackms.reporters import render
from iackms.rules import REGISTRY


def finding(rule_id: str = "IKMS101", *, severity: str | None = None, file: str = "infra/main.tf", line: int = 3,
            end_line: int = 4, column: int = 3, resource: str = "aws_kms_key.main",
            message: str = "aws_kms_key.main has automatic rotation disabled: enable_key_rotation = false") -> Finding:
    meta = REGISTRY[rule_id].meta
    return Finding(rule_id, meta.title, severity or meta.severity, file, line, end_line, column, resource,
                   "aws_kms_key", message)


@pytest.fixture(autouse=True)
def no_summary(monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_one_command_per_finding():
    out = render("github", Report(findings=[finding()]))
    assert out == ("::warning file=infra/main.tf,line=3,endLine=4,col=3,title=IKMS101 rotation-disabled::"
                   "aws_kms_key.main has automatic rotation disabled: enable_key_rotation = false\n")


def test_clean_report_prints_nothing():
    assert render("github", Report()) == ""


@pytest.mark.parametrize("severity,level", [("critical", "error"), ("high", "error"), ("medium", "warning"),
                                            ("low", "warning"), ("info", "notice")])
def test_level_mapping(severity, level):
    assert render("github", Report(findings=[finding(severity=severity)])).startswith(f"::{level} ")


def test_data_escaping():
    f = finding(message="100% bad\r\nnext line: a, b\nlast")
    data = gh.command(f).split("::", 2)[2]
    # the annotation names the resource when the message does not (two instances of a module share lines)
    assert data == "aws_kms_key.main: 100%25 bad%0D%0Anext line: a, b%0Alast"
    f = finding(message="aws_kms_key.main has automatic rotation disabled")
    assert gh.command(f).split("::", 2)[2] == "aws_kms_key.main has automatic rotation disabled"


def test_property_escaping():
    f = finding(file="dir, with: odd%\nname.tf")
    props = gh.command(f).split("::", 2)[1]
    assert "file=dir%2C with%3A odd%25%0Aname.tf," in props
    assert gh.escape_property("a:b,c%d\re\nf") == "a%3Ab%2Cc%25d%0De%0Af"
    assert gh.escape_data("a:b,c%d\re\nf") == "a:b,c%25d%0De%0Af"


def test_escaping_order_does_not_double_escape():
    assert gh.escape_data("%0A") == "%250A"
    assert gh.escape_property("%3A") == "%253A"


def test_lines_never_below_one():
    out = gh.command(finding("IKMS001", line=0, end_line=0, column=0, resource=""))
    assert ",line=1,endLine=1,col=1," in out


def test_most_severe_first_then_by_location():
    fs = [finding(severity="low", line=1), finding("IKMS202", line=9), finding(severity="medium", line=5),
          finding("IKMS202", file="a.tf", line=20)]
    lines = render("github", Report(findings=sorted(fs, key=Finding.sort_key))).splitlines()
    assert [ln.split(" ", 1)[0] for ln in lines] == ["::error", "::error", "::warning", "::warning"]
    assert "file=a.tf" in lines[0]
    assert "line=5" in lines[2]


def test_suppressed_never_annotated():
    gone = dataclasses.replace(finding(), suppressed=True, suppression_reason="accepted")
    assert render("github", Report(suppressed=[gone]), show_suppressed=True) == ""


# --- job summary ---------------------------------------------------------------------


def test_no_summary_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    render("github", Report(findings=[finding()]))
    assert list(tmp_path.iterdir()) == []


def test_summary_written_and_appended(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    path.write_text("# earlier step content\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    fs = [finding(), finding("IKMS202", resource="aws_kms_key.pub", message="a | pipe <b>and</b>\nnewline", line=9)]
    report = Report(findings=sorted(fs, key=Finding.sort_key), files_scanned=2, keys_checked=2)
    out = render("github", report)
    assert len(out.splitlines()) == 2
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# earlier step content\n")
    assert "## iackms: 2 KMS findings" in text
    assert "| critical | 1 |" in text and "| medium | 1 |" in text
    assert f"[IKMS202]({rule_url('IKMS202')}) public-principal | critical | 1 |" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| infra/main.tf:9 "))
    assert row == (f"| infra/main.tf:9 | [IKMS202]({rule_url('IKMS202')}) public-principal | critical | aws\\_kms\\_key.pub | "
                   "a \\| pipe &lt;b&gt;and&lt;/b&gt; newline |")
    # the table has the same number of columns on every row
    table = [ln for ln in text.splitlines() if ln.startswith("| infra/")]
    assert all(ln.replace("\\|", "").count("|") == 6 for ln in table)


def test_clean_summary(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    render("github", Report(files_scanned=3, keys_checked=1))
    text = path.read_text(encoding="utf-8")
    assert "## iackms: 0 KMS findings" in text and "3 file(s) scanned" in text
    assert "| Location |" not in text


def test_summary_under_one_mib_with_many_findings(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    n = 20_000
    fs = [finding(file=f"modules/m{i // 100}/main.tf", line=i % 100 + 1, end_line=i % 100 + 1,
                  resource=f"module.m{i // 100}.aws_kms_key.k{i}", message=f"aws_kms_key.k{i} " + "x" * 60) for i in range(n)]
    report = Report(findings=sorted(fs, key=Finding.sort_key))
    out = render("github", report)
    assert len(out.splitlines()) == n, "every finding is still annotated"
    size = path.stat().st_size
    assert 900_000 < size < 1024 * 1024
    text = path.read_text(encoding="utf-8")
    assert "more findings not shown (the summary is limited to 1 MiB)" in text
    shown = sum(1 for ln in text.splitlines() if ln.startswith("| modules/"))
    assert f"_{n - shown} more findings not shown" in text


def test_summary_accounts_for_existing_content(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    path.write_text("x" * 600_000, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    fs = [finding(line=i + 1, end_line=i + 1, resource=f"aws_kms_key.k{i}") for i in range(10_000)]
    render("github", Report(findings=fs))
    assert path.stat().st_size < 1024 * 1024


def test_unwritable_summary_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))
    out = render("github", Report(findings=[finding()]))
    assert out.startswith("::warning ")
    assert "cannot write the job summary" in capsys.readouterr().err


def test_summary_cells_show_markdown_as_written():
    from iackms.reporters.github import cell

    assert cell("allows any principal (*) kms:* _x_ [l](http://e) `c`") == \
        "allows any principal \\(\\*\\) kms:\\* \\_x\\_ \\[l\\]\\(http://e\\) \\`c\\`"
