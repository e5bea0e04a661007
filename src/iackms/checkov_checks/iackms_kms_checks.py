"""Registers the iackms rules as Checkov checks CKV_IACKMS_<nnn>.

The logic is iackms's own (iackms.checkov_adapter): this file only loads it.
Checkov silently drops a check that fails to import and still exits 0, so a
missing iackms stops the scan loudly instead."""

import sys

try:
    from iackms.checkov_adapter import register
except ImportError as exc:  # pragma: no cover - exercised by the Checkov integration test
    print(
        "iackms checks for Checkov: cannot import iackms "
        f"({exc}). Install it into Checkov's environment: pip install iackms",
        file=sys.stderr,
    )
    raise SystemExit(3) from None

register()
