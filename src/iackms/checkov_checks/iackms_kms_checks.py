"""Loads the iackms rules as Checkov checks CKV_IACKMS_<nnn> (iackms.checkov_adapter).

Checkov runs this file once per framework runner (each runner in a process of
its own on Linux, in a thread elsewhere), and drops a file that raises,
exiting 0 as if everything passed. So
when iackms cannot be loaded (not installed in Checkov's environment, or
broken), this file fails the run itself, without iackms: one message on
standard error and one FAILED result in the report (so a non-zero exit code),
given by one runner of the run, while every other result of Checkov stays.
"""

import sys
import types

FAILURE_ID = "CKV_IACKMS_0"
#: a module that marks a process where the failure was told (this file is run afresh by every runner)
TOLD = "iackms_checkov_failure_told"


def fail_run(message):
    """Fail this Checkov run loudly, once, keeping Checkov's own results."""
    message = f"iackms checks for Checkov: {message}"
    try:
        from checkov.common.bridgecrew.severities import BcSeverities, Severities
        from checkov.common.models.enums import CheckResult
        from checkov.common.output.record import Record
        from checkov.common.output.report import Report
        from checkov.common.runners.base_runner import BaseRunner
        from checkov.common.runners.runner_registry import RunnerRegistry
    except Exception:  # noqa: BLE001 - not a Checkov this file knows: say it, at least
        print(message, file=sys.stderr, flush=True)
        return
    # the runner loading this file, its report, and the registry of the run's runners
    runner = report = registry = root = None
    frame = sys._getframe(1)
    while frame is not None:
        here = frame.f_locals
        me = here.get("self")
        if runner is None and isinstance(me, BaseRunner) and isinstance(here.get("report"), Report):
            runner, report, root = me, here["report"], here.get("root_folder")
        elif registry is None and isinstance(me, RunnerRegistry):
            registry = me
        frame = frame.f_back
    if runner is not None and registry is not None:  # runners in processes of their own (Linux)
        kinds = [r.check_type for r in registry.runners]
        teller = next((t for t in ("terraform", "cloudformation") if t in kinds), kinds[0] if kinds else None)
        if runner.check_type != teller:
            return  # the run's Terraform (else CloudFormation) runner says it
    if TOLD in sys.modules:
        return  # runners in threads of one process (Windows, macOS): the first says it
    sys.modules[TOLD] = types.ModuleType(TOLD)
    print(message, file=sys.stderr, flush=True)
    if report is None:
        return  # not a Checkov whose runners are known: the message must do
    report.add_record(Record(
        check_id=FAILURE_ID, bc_check_id=None, check_name=message, check_result={"result": CheckResult.FAILED},
        code_block=[], file_path="/", file_line_range=[1, 1], resource="iackms", evaluations=None,
        check_class=__name__, file_abs_path=str(root or "."), severity=Severities[BcSeverities.CRITICAL],
        details=["see docs/checkov.md in the iackms documentation"],
    ))


try:
    from iackms.checkov_adapter import load
except Exception as exc:  # noqa: BLE001 - ImportError, or an iackms that fails to import
    fail_run(f"cannot import iackms ({type(exc).__name__}: {exc}); the CKV_IACKMS checks did not run. "
             "Install iackms into Checkov's environment: pip install iackms")
else:
    try:
        load(fail_run)
    except Exception as exc:  # noqa: BLE001 - e.g. a Checkov whose check classes changed
        fail_run(f"cannot register the CKV_IACKMS checks ({type(exc).__name__}: {exc}); they did not run")
