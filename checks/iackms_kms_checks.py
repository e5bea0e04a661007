# The packaged checks (src/iackms/checkov_checks/), run by path so that they still fail the scan loudly without iackms.
import pathlib, runpy; runpy.run_path(str(pathlib.Path(__file__).resolve().parents[1] / "src/iackms/checkov_checks/iackms_kms_checks.py"), run_name=__name__)
