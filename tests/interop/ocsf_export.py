"""Validate Portcullis's OCSF events against the OCSF 1.7.0 schema, offline,
with pydantic-ocsf (which ships the schema): every call of the lab demo as
`portcullis audit export --format ocsf` writes it, and the live copy a
server writes beside its log (`[audit] ocsf_log`).

pydantic-ocsf accepts unknown attributes (extra="allow") and does not
require activity_id: both are checked here, so an attribute OCSF does not
define fails the test instead of passing silently.

Usage: python ocsf_export.py PATH_TO_PORTCULLIS_BINARY
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ocsf.v1_7_0.events import ApiActivity
from pydantic import BaseModel

BIN = sys.argv[1]
ROOT = Path(__file__).resolve().parents[2]
FAILED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        FAILED.append(name)


def extras(model, path="$"):
    """Attributes the OCSF class does not define, anywhere in the event
    (`unmapped` is OCSF's own place for those, so it is not walked)."""
    found = [f"{path}.{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        if name == "unmapped":
            continue
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for i, v in enumerate(items):
            if isinstance(v, BaseModel):
                sub = f"{path}.{name}" + (f"[{i}]" if isinstance(value, list) else "")
                found += extras(v, sub)
    return found


def validate(label, lines):
    check(f"{label}: some events", len(lines) > 0, "none")
    kinds = set()
    for n, line in enumerate(lines, 1):
        event = json.loads(line)
        try:
            model = ApiActivity.model_validate(event)
        except Exception as e:  # pydantic.ValidationError, named in the output
            check(f"{label} event {n} validates", False, str(e)[:400])
            continue
        extra = extras(model)
        check(f"{label} event {n} ({event['api']['operation']}) has only OCSF attributes", not extra, extra)
        check(f"{label} event {n} has activity_id", "activity_id" in event, event)
        kinds.add((event["activity_id"], event["status_id"]))
    return kinds


def main():
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        log = d / "audit.jsonl"
        subprocess.run([BIN, "lab", "--demo", "--audit-log", str(log)], check=True, capture_output=True)
        out = subprocess.run([BIN, "audit", "export", "--format", "ocsf", str(log)],
                             check=True, capture_output=True, text=True).stdout
        kinds = validate("export", out.splitlines())
        # The demo reads, changes and deletes; some calls are refused.
        check("export covers read, update and delete", {a for a, _ in kinds} >= {2, 3, 4}, kinds)
        check("export covers success and failure", {s for _, s in kinds} >= {1, 2}, kinds)

        (d / "portcullis.toml").write_text(
            "[server]\nprincipal = \"alice\"\n"
            f"policies = \"{ROOT / 'policies' / 'default'}\"\naudit_log = \"live.jsonl\"\n\n"
            "[audit]\nocsf_log = \"live.ocsf.jsonl\"\n\n"
            "[[principals]]\nid = \"alice\"\ngroups = [\"readers\"]\n")
        for tool in ["pve_list_nodes", "pve_stop_qemu_vm"]:
            subprocess.run([BIN, "call", "--config", str(d / "portcullis.toml"), "--lab-backend",
                            "--as", "alice", tool, '{"node": "pve1", "vmid": 100}' if "stop" in tool else "{}"],
                           capture_output=True)
        live = (d / "live.ocsf.jsonl").read_text().splitlines()
        validate("live", live)
        exported = subprocess.run([BIN, "audit", "export", "--format", "ocsf", str(d / "live.jsonl")],
                                  check=True, capture_output=True, text=True).stdout.splitlines()
        check("the live copy is what export writes", [json.loads(l) for l in live] == [json.loads(l) for l in exported],
              (live, exported))
    print(f"{'FAILED' if FAILED else 'passed'}: {len(FAILED)} failing checks")
    sys.exit(1 if FAILED else 0)


main()
