"""The reason-code registry: every stable code the tool can report, with operator guidance.

Codes are part of the public contract (scripts match on them), so a code is never renamed or
reused; new codes are only ever added.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    FAIL = "FAIL"
    WARN = "WARN"
    INFO = "INFO"


class Retry(StrEnum):
    RETRYABLE = "retryable"
    TERMINAL = "terminal"
    # Nothing is broken: doing what the guidance says (seal the pack, build the view) clears
    # it. Neither a transient fault to wait out nor a damaged pack.
    ACTIONABLE = "after action"


class CodeInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    code_class: str
    severity: Severity
    retry: Retry
    meaning: str
    action: str


def _c(code: str, cls: str, sev: Severity, retry: Retry, meaning: str, action: str) -> CodeInfo:
    return CodeInfo(code=code, code_class=cls, severity=sev, retry=retry, meaning=meaning,
                    action=action)


F, W, I_ = Severity.FAIL, Severity.WARN, Severity.INFO
R, T, A = Retry.RETRYABLE, Retry.TERMINAL, Retry.ACTIONABLE

_ALL: tuple[CodeInfo, ...] = (
    # readability
    _c("PACK_NOT_FOUND", "readability", F, T,
       "The given root does not exist or holds no objects.",
       "Check the path or s3:// URI for typos; the tool never searches for a 'latest' world."),
    _c("PACK_NOT_SEALED", "readability", W, A,
       "The pack has no _SEALED.json: it is still staging. WARN on local, FAIL under strict seal.",
       "Once gates PASS, seal it: `oracle-tui seal ROOT --scenario-id ID --engine-release REL`."),
    _c("PACK_SEALED_FAILED", "readability", F, T,
       "The seal records seal_status SEALED_FAILED: the packer gave up on this pack.",
       "Do not read it. Re-run the engine into a new root and seal that one."),
    _c("PACK_TOMBSTONED", "readability", F, T,
       "_TOMBSTONE.json exists: the pack was withdrawn on purpose.",
       "Do not read it. The tombstone names the authority, the reason and any replacement."),
    _c("DIGESTS_NOT_REHASHED", "readability", W, A,
       "What was asked for needs the pack's bytes proven, and the check it would rely on only "
       "compared sizes, presence and footers (a quick check): nothing is shown on it.",
       "Let the full check finish (the inspector starts it by itself), or run "
       "`oracle-tui check ROOT`, which re-hashes by default."),
    _c("RUN_RECEIPT_MISSING", "readability", F, T,
       "run_receipt.json is absent from the root.",
       "Point the tool at the engine run root itself (the folder holding run_receipt.json)."),
    _c("RUN_RECEIPT_INVALID", "readability", F, T,
       "run_receipt.json is not valid JSON or lacks run_id/seed/parameter_hash/"
       "manifest_fingerprint in the required form.",
       "The engine run did not finish cleanly; re-run the engine. Never edit the receipt."),
    # identity
    _c("SCENARIO_ID_MISSING", "identity", F, T,
       "No scenario_id was given and no scenario_id= partition exists under catalogued outputs.",
       "Pass --scenario-id (or set it in the profile)."),
    _c("SCENARIO_ID_AMBIGUOUS", "identity", F, T,
       "No scenario_id was given and several scenario_id= partitions exist.",
       "Pass --scenario-id explicitly to say which world you mean."),
    _c("WORLD_KEY_MISMATCH", "identity", F, T,
       "The world key derived from run_receipt.json and scenario_id differs from the manifest's.",
       "Check --scenario-id; if it is right, the pack was sealed for another world: do not read."),
    # addressability
    _c("OUTPUT_UNKNOWN", "addressability", F, T,
       "The output_id is not in the interface pack's catalogue.",
       "Check the spelling, or pass the --interface-pack that describes this world."),
    _c("OUTPUT_MISSING", "addressability", F, T,
       "A catalogued output has no files at its rendered path.",
       "The engine did not write it: the world is incomplete. Re-run the engine."),
    _c("OBJECT_MISSING", "addressability", F, T,
       "A file listed in the content index (or a gate index) is absent.",
       "The pack was changed after sealing or copied incompletely; restore from the source."),
    _c("ACCESS_DENIED", "addressability", F, T,
       "The store refused access (403).",
       "Check the role's Get/List permissions on the pack prefix; credentials come from the "
       "standard AWS chain."),
    _c("STORAGE_TIMEOUT", "addressability", F, R,
       "The store did not answer in time, or the endpoint is unreachable.",
       "Retry later; check the endpoint and network path."),
    _c("STORAGE_THROTTLED", "addressability", F, R,
       "The store throttled requests (503 SlowDown / 429).",
       "Retry later with lower concurrency."),
    _c("RESOURCE_EXHAUSTED", "addressability", F, R,
       "This process ran out of an operating-system resource (open files: `ulimit -n`, or "
       "memory) while reading or writing; the pack itself was not judged by it.",
       "Raise the limit (e.g. `ulimit -n 4096`) or run fewer jobs at once, then run the "
       "command again."),
    _c("STORAGE_FULL", "addressability", F, R,
       "The disk (or spill folder) ran out of space while writing; temporary files were "
       "removed and nothing half-written was kept.",
       "Free space (or point --temp-dir elsewhere), then run the command again."),
    _c("LOCATOR_INVALID", "addressability", F, T,
       "A locator is malformed or points outside the pack root.",
       "Fix the locator; readers only follow locators inside the given root."),
    _c("OBJECT_TOO_LARGE", "addressability", F, T,
       "A control document (receipt, manifest, flag, gate evidence) is larger than oracle-tui "
       "reads for its kind; it was refused unread.",
       "Such files are small when the engine writes them: inspect it by hand; do not read."),
    _c("PATH_UNSAFE", "addressability", F, T,
       "A path leaves the root (.., absolute, ~, backslash, control characters) or is a "
       "symlink, FIFO or other non-regular file.",
       "Never follow it. Remove the link or fix the manifest/index that names it."),
    # integrity
    _c("DIGEST_MISMATCH", "integrity", F, T,
       "A file's size or sha256 differs from the content index.",
       "The bytes changed after sealing: treat the pack as corrupt and restore it."),
    _c("PARQUET_INVALID", "integrity", F, T,
       "A Parquet part is not readable as what it claims: no footer (truncated), a footer "
       "that cannot be parsed, or one whose row count its row groups do not bear out.",
       "Do not read the output: a reader would serve other rows than the file states. "
       "Restore the part from the engine run."),
    _c("SCHEMA_MISMATCH", "integrity", F, T,
       "The parts of one output do not share one schema (a column's name, type, order or "
       "nullability differs, or one part has a column the others lack): a reader would "
       "round, cast or drop values to read them as one table.",
       "Do not read the output. The engine wrote inconsistent parts: re-run its segment."),
    _c("GATE_EVIDENCE_MISMATCH", "integrity", F, T,
       "A gate's recomputed digest differs from its _passed.flag, a bundle member's digest "
       "differs from its bytes, or the flag/index is malformed.",
       "The validation bundle does not prove the data; do not read. Re-run the engine segment."),
    _c("UNEXPECTED_FILE", "integrity", F, T,
       "A file exists under the sealed pack that the content index does not list.",
       "Something was added after sealing. Find out who wrote it; never 'fix' a sealed pack."),
    _c("MANIFEST_MISMATCH", "integrity", F, T,
       "An existing manifest differs from the one these inputs would produce.",
       "The pack was sealed with other inputs; check --scenario-id/--engine-release."),
    _c("SEAL_MISMATCH", "integrity", F, T,
       "The seal or oracle-tui's seal binding names another pack id, the manifest's bytes do "
       "not match the binding's digest of them, or the binding's run, gates or counts "
       "disagree with the pack.",
       "Treat the pack as tampered; do not read."),
    # evidence
    _c("GATE_RECEIPT_MISSING", "evidence", F, T,
       "A gate's _passed.flag, bundle or index is absent.",
       "The engine segment did not validate; re-run it."),
    _c("REQUIRED_GATE_NOT_PASS", "evidence", F, T,
       "An output's required gate (or one it depends on) did not PASS: no PASS, no read.",
       "Look at the gate's own finding for the cause."),
    _c("PACK_MANIFEST_MISSING", "evidence", F, T,
       "_SEALED.json exists but _oracle_pack_manifest.json does not.",
       "The pack is inconsistent; do not read it."),
    _c("PACK_MANIFEST_INVALID", "evidence", F, T,
       "_oracle_pack_manifest.json is not valid JSON or breaks the platform's v1 manifest "
       "schema (seven fields, no others): the platform's stream producer refuses the pack.",
       "Do not read it; the manifest is the pack's identity. The message quotes the schema."),
    _c("PACK_SEAL_INVALID", "evidence", F, T,
       "_SEALED.json is not valid JSON or breaks the platform's v1 seal schema (four fields, "
       "no others).",
       "Treat the pack as tampered or half-written by another tool; do not read it."),
    _c("PACK_LAYOUT_OUTDATED", "evidence", F, T,
       "The manifest or seal was written by oracle-tui before 0.2, with an 'extensions' key "
       "that the platform's schema refuses: its stream producer fails the whole pack with "
       "PACK_MANIFEST_INVALID.",
       "Nothing is rewritten (write-once). Copy the engine run, without its control files "
       "(_oracle_*, _SEALED.json, stream_view/), to a new root and seal that with this "
       "version; tombstone the old pack with the new root as its replacement."),
    _c("SEAL_BINDING_MISSING", "evidence", W, T,
       "The pack is sealed with valid v1 manifest and seal, but without oracle-tui's seal "
       "binding (_oracle_tui_seal_binding.json): another tool sealed it, or the binding was "
       "removed. The v1 files prove the identity, nothing proves the content. WARN on local, "
       "FAIL under strict seal.",
       "Treat the content as unproven. To prove it, re-create the pack from the engine run "
       "into a new root and seal it with oracle-tui."),
    _c("SEAL_BINDING_INVALID", "evidence", F, T,
       "_oracle_tui_seal_binding.json is not valid JSON or breaks its schema "
       "(oracle-tui.seal-binding/1).",
       "Treat the pack as tampered; do not read it."),
    _c("CONTENT_DIGEST_MISSING", "evidence", F, T,
       "The sealed pack's content index is absent or malformed.",
       "Without it nothing proves the bytes; do not read."),
    _c("CONTENT_INDEX_INVALID", "evidence", F, T,
       "The content index names a path twice or is not sorted by path: it is not what the "
       "sealer writes, so it cannot be trusted to list every file once.",
       "Do not read the pack; restore the content index from the sealed source."),
    _c("OUTPUT_EVIDENCE_ABSENT", "evidence", I_, T,
       "No gate-verified validation bundle lists this output's parts (path, sha256, rows), so "
       "only their presence was proven, not that they are the parts the engine validated.",
       "Nothing to do for this pack; ask the engine team to list the parts in the segment's "
       "validation bundle so that damage before sealing is caught."),
    # stream view
    _c("STREAM_VIEW_MISSING", "stream view", I_, A,
       "No stream view exists for this output.",
       "Build it with `oracle-tui stream-view build ROOT --output-id ID`."),
    _c("STREAM_RECEIPT_MISSING", "stream view", F, T,
       "The stream view has no _stream_sort_receipt.json.",
       "The build did not finish; the view cannot be trusted."),
    _c("STREAM_RECEIPT_MISMATCH", "stream view", F, T,
       "The stream view's receipt does not match its parts or its source.",
       "The view or its source changed; do not read it."),
    _c("STREAM_VIEW_PARTIAL_EXISTS", "stream view", F, T,
       "View parts exist without a receipt (an interrupted build).",
       "Nothing overwrites it: remove the partial view by an explicit operator action, then "
       "rebuild."),
    _c("STREAM_VIEW_OUTDATED", "stream view", F, T,
       "The view was built by an older oracle-tui, without the platform's "
       "_stream_view_manifest.json and receipt fields: the platform's producer refuses it.",
       "Rebuild it under a new stream_view_root, or remove the view folder by hand and "
       "rebuild; nothing is ever rewritten in place."),
    _c("STREAM_VIEW_MOVED", "stream view", F, T,
       "The view's manifest and receipt were written for another root or view folder: the "
       "pack was copied or uploaded with its views, or the view folder moved. The platform's "
       "producer, wired with this root, refuses it (the view id differs).",
       "Rebuild the view here under a new stream_view_root (or remove the copied folder by "
       "hand and rebuild); nothing is rewritten in place."),
    _c("STREAM_ORDER_VIOLATION", "stream view", F, T,
       "The view's rows are not in sort-key order.",
       "Do not read it; rebuild into a fresh root."),
    _c("STREAM_RECEIPT_ENGINE_MISMATCH", "stream view", W, T,
       "The receipt's row-hash sums were made by another DuckDB version and cannot be "
       "re-derived here; counts, key ranges, order and part digests were still verified.",
       "Verify with the DuckDB version the receipt names, or rebuild the view into a new root."),
    _c("STREAM_DEEP_VERIFY_SKIPPED", "stream view", W, T,
       "verify --deep rebuilt the view: every row is where the rebuild puts it (content and "
       "the order of tied rows proven), but the parts were written in another part format "
       "or by another DuckDB, so their bytes differ from this version's.",
       "Nothing is wrong with the rows. To compare bytes too, deep-verify with the oracle-tui "
       "that built it, or rebuild the view under a new stream_view_root."),
    _c("MISSING_SORT_KEY", "stream view", F, T,
       "The output lacks its sort-key column.",
       "Configure a per-output sort key in the interface pack or profile."),
    _c("SORT_KEY_INVALID", "stream view", F, T,
       "A value of the sort-key column is not a valid instant (e.g. 25:61, a leap second, "
       "Feb 30, free text); the finding names the file and row.",
       "The output's data is malformed: report it to the engine team. No view is written."),
    _c("STREAM_SOURCE_UNSUPPORTED", "stream view", F, T,
       "The output has a column named filename, file_row_number or file_index: DuckDB's "
       "Parquet reader reserves those names for each row's file and row number, which the "
       "view's tie-break is made of. The output itself is fine; no view was written.",
       "Read the output raw (the local profile's reader falls back to it), or ask the engine "
       "team to rename the column."),
    _c("MEMORY_LIMIT_EXCEEDED", "stream view", F, T,
       "The sort ran out of memory under the given --memory-limit (DuckDB could not spill "
       "enough). No view was written.",
       "Raise --memory-limit, give --temp-dir on a disk with free space, or lower --threads."),
    _c("ENGINE_EXTENSION_MISSING", "stream view", F, T,
       "DuckDB's httpfs extension, which it needs to read or write s3:// roots, is neither "
       "bundled nor installable here (an offline host). Nothing was read or written.",
       "Install it once where the network allows (`python -c \"import duckdb; "
       "duckdb.sql('INSTALL httpfs')\"`) or copy it into DuckDB's extension folder; then "
       "rerun."),
    _c("EXECUTOR_UNREACHABLE", "stream view", F, R,
       "The Dask scheduler given as the executor did not answer (nothing listens at its "
       "address, or it refused the client). Nothing was written.",
       "Start the scheduler or fix --executor / the profile's stream_view_executor, then "
       "rerun; `--executor local` builds in this process."),
    _c("SORT_ENGINE_ERROR", "stream view", F, T,
       "The sort engine (DuckDB) failed for a reason that is neither the data, the store nor "
       "memory; the message carries its own words. No view was written.",
       "Read the message; rerun once, and report it with the message if it persists."),
    # config
    _c("PROFILE_INVALID", "config", F, T,
       "The profile is missing, not YAML, or does not match the profile model.",
       "Fix the profile file; see profiles/local.yaml for the shape."),
    _c("INTERFACE_PACK_INVALID", "config", F, T,
       "The interface pack (catalogue and gate map) is missing, not a regular file, not "
       "YAML, names a key twice, lists an output id, gate id or path template twice, or "
       "names files that two outputs both claim: which entry is meant is ambiguous.",
       "Fix the interface pack (the message names the entry and line); pass the one that "
       "describes this world with --interface-pack."),
    _c("PLACEHOLDER_UNRESOLVED", "config", F, T,
       "A required ${VAR} placeholder in the profile has no value in the environment.",
       "Export the named variable, or use ${VAR:-default} in the profile."),
    _c("SECRET_IN_CONFIG", "config", F, T,
       "A profile contains a literal credential.",
       "Remove it. Credentials come only from the standard AWS chain (env, shared config, role)."),
    _c("CREDENTIALS_MISSING", "config", F, T,
       "No AWS credentials were found for an s3:// root: the environment, the shared "
       "credentials and config files, web identity and the container or instance role were "
       "all tried. Nothing about the pack was judged.",
       "Give credentials the standard way (e.g. export AWS_ACCESS_KEY_ID and "
       "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), never in a profile; on a cluster, the workers "
       "need them too."),
    _c("CONDITIONAL_WRITE_UNSUPPORTED", "config", F, T,
       "The object store ignores If-None-Match, so create-only writes cannot be guaranteed.",
       "Use an endpoint that honours conditional writes; sealing refuses until then."),
    _c("SEAL_INPUT_MISMATCH", "config", F, T,
       "A seal input (--engine-release, --scenario-id) disagrees with what the run receipt "
       "records for this run; sealing it would bind a pack id no one can re-derive from the "
       "run. Nothing was written.",
       "Seal with the run receipt's values (the error names both)."),
    _c("INPUT_INVALID", "config", F, T,
       "A value given by the operator (engine release, tombstone reason or authority, "
       "replacement root, memory limit) is empty, too long or holds control characters. "
       "Nothing was written.",
       "Give the value again within its limits (see the message)."),
    _c("TARGET_EXISTS", "config", F, T,
       "The folder or object to create already exists; the tool never overwrites.",
       "Choose a new --out, or remove the old one yourself if you really mean to."),
    # internal
    _c("INTERNAL_ERROR", "internal", F, T,
       "A check step raised an unexpected error; the verdict fails closed.",
       "Report it with the step name shown; the pack is not proven readable."),
)

CODES: dict[str, CodeInfo] = {c.code: c for c in _ALL}
# Codes that mean the command was called or configured wrongly: exit 2 wherever they stop it.
USAGE_CODES = frozenset({"PROFILE_INVALID", "PLACEHOLDER_UNRESOLVED", "SECRET_IN_CONFIG",
                         "TARGET_EXISTS", "INPUT_INVALID", "INTERFACE_PACK_INVALID",
                         "SEAL_INPUT_MISMATCH",
                         "CREDENTIALS_MISSING"})


def codes_of_class(code_class: str) -> frozenset[str]:
    """The codes of one class (what the core decides by; the inspector groups them into panes
    in ``tui/code_panes.py``)."""
    return frozenset(c for c, info in CODES.items() if info.code_class == code_class)


def code_info(code: str) -> CodeInfo:
    """Return the registry entry; KeyError for an unknown code (callers fail closed)."""
    return CODES[code]


def reason_codes_markdown() -> str:
    """docs/reason-codes.md, generated from this registry (a test keeps the file in step)."""
    lines = [
        "# Reason codes",
        "",
        "Generated from `oracle_tui/core/codes.py` by `python scripts/gen_reason_codes.py`; "
        "`oracle-tui explain CODE` prints the same text.",
        "",
        "Severity is the default (PACK_NOT_SEALED becomes FAIL under strict seal; "
        "STREAM_VIEW_MISSING follows the profile). *retryable* codes make `check` exit 3 "
        "when they are the only failures: run it again later. *terminal* codes exit 1. "
        "*after action* codes name nothing broken: doing what they say (seal, build the "
        "view) clears them.",
        "",
        "Codes given a more exact meaning in this release (scripts matching the old code "
        "should match both): an oversize object is `OBJECT_TOO_LARGE` where the reader had no "
        "code of its own for it (was `PATH_UNSAFE`); a content index with duplicated or "
        "unsorted entries is `CONTENT_INDEX_INVALID` (was `CONTENT_DIGEST_MISSING`); a DuckDB "
        "failure during a build or verify is `SORT_ENGINE_ERROR`, `MEMORY_LIMIT_EXCEEDED`, "
        "`STORAGE_FULL`, `STORAGE_TIMEOUT` or `ACCESS_DENIED` by its cause (was "
        "`STREAM_RECEIPT_MISMATCH`); a bad `--memory-limit` or other operator value is "
        "`INPUT_INVALID` (was `PROFILE_INVALID`); a missing or malformed interface pack is "
        "`INTERFACE_PACK_INVALID` (was `PROFILE_INVALID`); a malformed `_SEALED.json` is "
        "`PACK_SEAL_INVALID` (was `SEAL_MISMATCH`); since 0.2 the seal binding's run id, "
        "gates and counts that disagree with the pack are `SEAL_MISMATCH` (they were the "
        "manifest's, `MANIFEST_MISMATCH`); a part without a readable footer is "
        "`PARQUET_INVALID` (was `DIGEST_MISMATCH`); DuckDB's missing httpfs extension is "
        "`ENGINE_EXTENSION_MISSING` and an unreachable Dask scheduler `EXECUTOR_UNREACHABLE` "
        "(both were `STORAGE_TIMEOUT`).",
        "",
        "| code | class | severity | retry | what it means | what to do |",
        "|---|---|---|---|---|---|",
    ]
    for c in _ALL:
        lines.append(f"| `{c.code}` | {c.code_class} | {c.severity.value} | {c.retry.value} "
                     f"| {c.meaning} | {c.action} |")
    return "\n".join(lines) + "\n"
