"""Drive `portcullis serve` over stdio with the official Python MCP SDK,
against fakepve (which validates every request against the PVE API schema).

Usage: python mcp_stdio_fakepve.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fakepve import FakePve
from fakepve.certs import make_cert
from interop_common import accept, check, decline, is_error, summary, text
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
BIN = sys.argv[1]
SECRET = "ci-" + os.urandom(12).hex()
TOKEN = "root@pam!ci"


def write_config(tmp, pve_url, ca):
    cfg = Path(tmp) / "portcullis.toml"
    cfg.write_text(f"""
[server]
policies = "{ROOT / 'policies' / 'default'}"
audit_log = "{Path(tmp) / 'audit.jsonl'}"

[[principals]]
id = "alice"
groups = ["readers"]

[[principals]]
id = "bob"
groups = ["operators"]

[[principals]]
id = "carol"
groups = ["admins"]

[[endpoints]]
name = "fakepve"
backend = "pve"
url = "{pve_url}"
token_id = "{TOKEN}"
token_secret_env = "PVE_CI_SECRET"
ca_file = "{ca}"
""")
    return cfg


def client(cfg, who, elicit=None, mode="auto"):
    params = StdioServerParameters(
        command=BIN,
        args=["serve", "--config", str(cfg), "--as", who],
        env={"PVE_CI_SECRET": SECRET, "PORTCULLIS_LOG": "warn", "PATH": os.environ.get("PATH", "")},
    )
    return Client(params, elicitation_callback=elicit, mode=mode)


def tool_requests(pve):
    return [r for r in pve.requests if "/tasks/" not in r[1]]


async def main():
    tmp = tempfile.mkdtemp(prefix="portcullis-interop-")
    certfile, keyfile, _ = make_cert(tmp, hosts=("127.0.0.1",))
    pve = FakePve(host="127.0.0.1", port=0)
    pve.apitokens[TOKEN] = SECRET
    pve.add_vm(100, "web-01", node="pve1", status="running")
    pve.add_vm(101, "db-01", node="pve1", status="stopped")
    await pve.start(certfile, keyfile)
    cfg = write_config(tmp, pve.url, certfile)
    try:
        # A reader: sees only what policy may permit, lists VMs, is denied a stop.
        async with client(cfg, "alice") as c:
            names = {t.name for t in (await c.list_tools()).tools}
            check("reader sees read tools", "pve_list_qemu_vms" in names, sorted(names))
            check("reader does not see operate tools", "pve_stop_qemu_vm" not in names, sorted(names))
            r = await c.call_tool("pve_list_qemu_vms", {"node": "pve1"})
            check("reader lists VMs", not is_error(r) and "web-01" in text(r), text(r))
            r = await c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 100})
            check("reader is denied pve_stop_qemu_vm", is_error(r) and "no policy permits it" in text(r), text(r))
            check("the denied stop reached nothing", pve.vm(100).status == "running", pve.vm(100).status)

        # An operator whose client asks a human (elicitation, negotiated protocol).
        async with client(cfg, "bob", accept) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            ann = tools["pve_stop_qemu_vm"].annotations
            check("stop is annotated destructive", ann is not None and ann.destructive_hint is True, ann)
            progress = []

            async def on_progress(p, total, message):
                progress.append((p, total, message))

            # The stop task takes 1.5 s in real time, so Portcullis polls it
            # while it runs and reports each poll as a progress notification.
            pve.time_scale = 1.0
            pve.vm(100).stop_secs = 1.5
            try:
                r = await c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 100}, progress_callback=on_progress)
            finally:
                pve.time_scale = 0.0
            check("operator stops the VM after a human confirms", not is_error(r), text(r))
            check("the VM is stopped in fakepve", pve.vm(100).status == "stopped", pve.vm(100).status)
            check("the running task was reported as progress", len(progress) >= 2, progress)
            check("each report names the task and how long it has run",
                  all(m is not None and m.startswith("task UPID:pve1:") and ":qmstop:100:" in m and " running for " in m
                      for _, _, m in progress), progress)
            check("progress only grows", all(a[0] < b[0] for a, b in zip(progress, progress[1:])), progress)

        # An admin with a client that cannot ask: delete without confirmation is denied.
        async with client(cfg, "carol") as c:
            before = len(tool_requests(pve))
            r = await c.call_tool("pve_delete_qemu_vm", {"node": "pve1", "vmid": 101})
            check("delete without confirmation is denied", is_error(r) and "needs confirmation" in text(r), text(r))
            for bad in ["../", "..", "%2e%2e", "/", "pve1/../x", "pve1\u0000", "x" * 300]:
                r = await c.call_tool("pve_get_node_status", {"node": bad})
                check(f"hostile node {bad[:12]!r} is refused naming the field", is_error(r) and "`node`" in text(r), text(r))
            r = await c.call_tool("pve_list_qemu_vms", {"node": "pve1", "extra": 1})
            check("unknown argument is refused", is_error(r) and "unknown argument" in text(r), text(r))
            check("fakepve received nothing from refused calls", len(tool_requests(pve)) == before, tool_requests(pve)[before:])
            try:
                await c.call_tool("pve_format_everything", {})
                check("unknown tool is a protocol error", False, "no error raised")
            except Exception as e:  # the SDK raises on JSON-RPC errors
                check("unknown tool is a protocol error", "pve_format_everything" in str(e), str(e))

        # The pre-2026 handshake: elicitation/create while the call waits.
        async with client(cfg, "carol", decline, mode="legacy") as c:
            r = await c.call_tool("pve_delete_qemu_vm", {"node": "pve1", "vmid": 101})
            check("a declined confirmation runs nothing", is_error(r) and "declined" in text(r), text(r))
            check("the VM still exists", pve.guest(101) is not None)
        async with client(cfg, "carol", accept, mode="legacy") as c:
            r = await c.call_tool("pve_delete_qemu_vm", {"node": "pve1", "vmid": 101})
            check("an accepted confirmation deletes (legacy elicitation)", not is_error(r), text(r))
    finally:
        await pve.stop()

    audit = Path(tmp) / "audit.jsonl"
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    by_call = {}
    for rec in records:
        by_call.setdefault(rec["call"], []).append(rec["kind"])
    pairs = [k for k in by_call.values() if "decision" in k]
    check("every call left a decision and an outcome record", all(k.count("outcome") == 1 for k in pairs), by_call)
    decisions = [r.get("decision") for r in records if r["kind"] == "decision"]
    check("the audit log has allows, denies, invalids and confirmations",
          {"allow", "deny", "invalid", "confirmation_required"} <= set(decisions), decisions)
    verify = subprocess.run([BIN, "audit", "verify", str(audit)], capture_output=True, text=True)
    check("the audit chain verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    blob = audit.read_text()
    check("the token secret is not in the audit log", SECRET not in blob)
    return summary("interop")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
