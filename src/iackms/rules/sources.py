"""The documents rules cite, declared once (a rule's page lists its sources)."""

from .base import Control, Source

CIS = Source("CIS AWS Foundations Benchmark: 3.8 (v1.4–2.0), 3.6 (v3.0+) — rotation for customer-created symmetric CMKs",
             "https://www.cisecurity.org/benchmark/amazon_web_services")

KMS_BP = Source("AWS KMS best practices (AWS Prescriptive Guidance)",
                "https://docs.aws.amazon.com/prescriptive-guidance/latest/aws-kms-best-practices/introduction.html")

ROTATE_DOC = Source("AWS KMS: rotating keys", "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html")

MRK_DOC = Source("AWS KMS: multi-Region keys", "https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html")

CKS_DOC = Source("AWS KMS: custom key stores", "https://docs.aws.amazon.com/kms/latest/developerguide/key-store-overview.html")

DELETE_DOC = Source("AWS KMS: deleting keys", "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html")

IMPORT_DOC = Source("AWS KMS: importing key material", "https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html")

NIST_SC_10 = Source("NIST SP 800-171 3.13.10 / CMMC SC.L2-3.13.10 (key management)",
                    "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

NIST_SC_11 = Source("NIST SP 800-171 3.13.11 / CMMC SC.L2-3.13.11 (FIPS-validated cryptography)",
                    "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

NIST_CM = Source("NIST SP 800-171 3.4.1 / CMMC CM.L2-3.4.1 (baseline inventory)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

ALIAS_DOC = Source("AWS KMS: aliases", "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")

SPEC_DOC = Source("AWS KMS: key spec reference", "https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html")

POLICY_DOC = Source("AWS KMS: key policies", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html")

DEFAULT_POLICY = Source("AWS KMS: the default key policy", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html")

CONDITIONS = Source("AWS KMS: condition keys", "https://docs.aws.amazon.com/kms/latest/developerguide/policy-conditions.html")

GRANTS_DOC = Source("AWS KMS: grants", "https://docs.aws.amazon.com/kms/latest/developerguide/grants.html")

FSBP_KMS5 = Source("AWS Security Hub KMS.5 (keys should not be publicly accessible)", "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html")

NIST_AC_5 = Source("NIST SP 800-171 3.1.5 / CMMC AC.L2-3.1.5 (least privilege)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

NIST_AC_4 = Source("NIST SP 800-171 3.1.4 / CMMC AC.L2-3.1.4 (separation of duties)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

NIST_IA_3 = Source("NIST SP 800-171 3.5.3 / CMMC IA.L2-3.5.3 (multifactor authentication)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")

LOCKOUT = Source("AWS KMS: PutKeyPolicy and the policy lockout safety check", "https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html")


# --- the controls rules support (RuleMeta.controls), as the sources above cite them ----

CIS_ROTATION = (
    Control("CIS AWS Foundations", "3.6", "Ensure rotation for customer-created symmetric CMKs is enabled", "v3.0+"),
    Control("CIS AWS Foundations", "3.8", "Ensure rotation for customer-created symmetric CMKs is enabled", "v1.4–v2.0"),
)
KEY_MANAGEMENT = (
    Control("NIST SP 800-171", "3.13.10", "Establish and manage cryptographic keys"),
    Control("CMMC", "SC.L2-3.13.10", "Key management"),
)
FIPS_CRYPTO = (
    Control("NIST SP 800-171", "3.13.11", "Employ FIPS-validated cryptography"),
    Control("CMMC", "SC.L2-3.13.11", "CUI encryption"),
)
BASELINE_INVENTORY = (
    Control("NIST SP 800-171", "3.4.1", "Establish and maintain baseline configurations and inventories"),
    Control("CMMC", "CM.L2-3.4.1", "System baselining"),
)
LEAST_PRIVILEGE = (
    Control("NIST SP 800-171", "3.1.5", "Employ the principle of least privilege"),
    Control("CMMC", "AC.L2-3.1.5", "Least privilege"),
)
SEPARATION_OF_DUTIES = (
    Control("NIST SP 800-171", "3.1.4", "Separate the duties of individuals"),
    Control("CMMC", "AC.L2-3.1.4", "Separation of duties"),
)
MFA = (
    Control("NIST SP 800-171", "3.5.3", "Use multifactor authentication"),
    Control("CMMC", "IA.L2-3.5.3", "Multifactor authentication"),
)

#: the source a group of controls comes from (a rule citing the source supports the controls)
CONTROLS_OF = (
    (CIS, CIS_ROTATION),
    (NIST_SC_10, KEY_MANAGEMENT),
    (NIST_SC_11, FIPS_CRYPTO),
    (NIST_CM, BASELINE_INVENTORY),
    (NIST_AC_5, LEAST_PRIVILEGE),
    (NIST_AC_4, SEPARATION_OF_DUTIES),
    (NIST_IA_3, MFA),
)
