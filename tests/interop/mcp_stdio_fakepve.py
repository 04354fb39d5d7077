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
import urllib.parse
from pathlib import Path

from fakepve import FakePve
from fakepve.certs import make_cert
from interop_common import scratch_dir, accept, check, decline, is_error, summary, text
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


# Every tool added in issue 14 so far, with arguments and the API path
# (the end of it) the call must reach.
FAMILY_CALLS = [
    ("pve_get_lxc_status", {"node": "pve1", "vmid": 200}, "/lxc/200/status/current"),
    ("pve_get_lxc_config", {"node": "pve1", "vmid": 200}, "/lxc/200/config"),
    ("pve_get_lxc_rrddata", {"node": "pve1", "vmid": 200, "timeframe": "hour"}, "/lxc/200/rrddata"),
    ("pve_list_lxc_snapshots", {"node": "pve1", "vmid": 200}, "/lxc/200/snapshot"),
    ("pve_suspend_lxc_container", {"node": "pve1", "vmid": 200}, "/lxc/200/status/suspend"),
    ("pve_resume_lxc_container", {"node": "pve1", "vmid": 200}, "/lxc/200/status/resume"),
    ("pve_reboot_lxc_container", {"node": "pve1", "vmid": 200}, "/lxc/200/status/reboot"),
    ("pve_update_lxc_config", {"node": "pve1", "vmid": 200, "hostname": "ct-02", "memory": 1024,
                               "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}, "/lxc/200/config"),
    ("pve_create_lxc_snapshot", {"node": "pve1", "vmid": 200, "snapname": "s1"}, "/lxc/200/snapshot"),
    ("pve_rollback_lxc_snapshot", {"node": "pve1", "vmid": 200, "snapname": "s1"}, "/lxc/200/snapshot/s1/rollback"),
    ("pve_clone_lxc_container", {"node": "pve1", "vmid": 200, "newid": 201, "hostname": "ct-clone"}, "/lxc/200/clone"),
    ("pve_delete_lxc_snapshot", {"node": "pve1", "vmid": 200, "snapname": "s1"}, "/lxc/200/snapshot/s1"),
    ("pve_start_lxc_container", {"node": "pve1", "vmid": 200}, "/lxc/200/status/start"),
    ("pve_shutdown_lxc_container", {"node": "pve1", "vmid": 200}, "/lxc/200/status/shutdown"),
    ("pve_create_lxc_container", {"node": "pve1", "vmid": 210, "ostemplate": "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst",
                                  "hostname": "ct-new", "rootfs": "local-lvm:8", "password": "interop-ct-pw-1",
                                  "ssh_public_keys": "ssh-ed25519 AAAAC3 k@x", "unprivileged": True}, "/nodes/pve1/lxc"),
    ("pve_delete_lxc_container", {"node": "pve1", "vmid": 201, "purge": True}, "/lxc/201"),
    ("pve_get_qemu_rrddata", {"node": "pve1", "vmid": 100, "timeframe": "day"}, "/qemu/100/rrddata"),
    ("pve_start_qemu_vm", {"node": "pve1", "vmid": 100}, "/qemu/100/status/start"),
    ("pve_suspend_qemu_vm", {"node": "pve1", "vmid": 100}, "/qemu/100/status/suspend"),
    ("pve_resume_qemu_vm", {"node": "pve1", "vmid": 100}, "/qemu/100/status/resume"),
    ("pve_reset_qemu_vm", {"node": "pve1", "vmid": 100}, "/qemu/100/status/reset"),
    ("pve_create_qemu_vm", {"node": "pve1", "vmid": 300, "name": "new-01", "memory": 2048, "ostype": "l26",
                            "scsi0": "local-lvm:32,discard=on", "net0": "virtio,bridge=vmbr0,firewall=1",
                            "scsihw": "virtio-scsi-single", "boot": "order=scsi0;net0"}, "/nodes/pve1/qemu"),
    ("pve_update_qemu_config", {"node": "pve1", "vmid": 300, "cpu": "host,flags=+aes", "cores": 2}, "/qemu/300/config"),
    ("pve_migrate_qemu_vm", {"node": "pve1", "vmid": 300, "target": "pve2"}, "/qemu/300/migrate"),
    ("pve_get_node_version", {"node": "pve1"}, "/nodes/pve1/version"),
    ("pve_get_node_dns", {"node": "pve1"}, "/nodes/pve1/dns"),
    ("pve_get_node_time", {"node": "pve1"}, "/nodes/pve1/time"),
    ("pve_get_node_syslog", {"node": "pve1", "start": 0, "limit": 5}, "/nodes/pve1/syslog"),
    ("pve_list_node_services", {"node": "pve1"}, "/nodes/pve1/services"),
    ("pve_manage_node_service", {"node": "pve1", "service": "pveproxy", "command": "reload"}, "/services/pveproxy/reload"),
    ("pve_list_tasks", {"node": "pve1", "typefilter": "qmstart", "start": 0}, "/nodes/pve1/tasks"),
    ("pve_get_next_vmid", {}, "/cluster/nextid"),
    ("pve_get_cluster_log", {"max": 10}, "/cluster/log"),
    ("pve_get_cluster_options", {}, "/cluster/options"),
    ("pve_list_cluster_backup_info", {}, "/cluster/backup-info/not-backed-up"),
    ("pve_get_cluster_ha_status", {}, "/cluster/ha/status/current"),
    ("pve_list_cluster_replication", {}, "/cluster/replication"),
    ("pve_list_users", {"enabled": True}, "/access/users"),
    ("pve_create_user", {"userid": "ci@pve", "password": "interop-user-pw-1", "email": "ci@example.org",
                         "firstname": "C", "lastname": "I", "enable": True, "expire": 0}, "/access/users"),
    ("pve_get_user", {"userid": "ci@pve"}, "/access/users/ci@pve"),
    ("pve_update_user", {"userid": "ci@pve", "comment": "interop"}, "/access/users/ci@pve"),
    ("pve_list_roles", {}, "/access/roles"),
    ("pve_list_groups", {}, "/access/groups"),
    ("pve_list_acls", {}, "/access/acl"),
    ("pve_list_domains", {}, "/access/domains"),
    ("pve_update_acl", {"path": "/vms/100", "roles": "PVEVMUser", "users": "ci@pve", "propagate": True}, "/access/acl"),
    ("pve_delete_user", {"userid": "ci@pve"}, "/access/users/ci@pve"),
    ("pve_create_pool", {"poolid": "ci", "comment": "interop"}, "/pools"),
    ("pve_list_pools", {}, "/pools"),
    ("pve_get_pool", {"poolid": "ci"}, "/pools/ci"),
    ("pve_update_pool", {"poolid": "ci", "vms": "300"}, "/pools/ci"),
    ("pve_update_pool", {"poolid": "ci", "vms": "300", "delete": True}, "/pools/ci"),
    ("pve_delete_pool", {"poolid": "ci"}, "/pools/ci"),
    ("pve_create_ha_resource", {"sid": "vm:300", "state": "stopped", "max_restart": 2, "max_relocate": 1}, "/cluster/ha/resources"),
    ("pve_list_ha_resources", {"type": "vm"}, "/cluster/ha/resources"),
    ("pve_get_ha_resource", {"sid": "vm:300"}, "/cluster/ha/resources/vm:300"),
    ("pve_update_ha_resource", {"sid": "vm:300", "comment": "ci"}, "/cluster/ha/resources/vm:300"),
    ("pve_create_ha_rule", {"rule": "ci-rule", "type": "node-affinity", "resources": "vm:300", "nodes": "pve1:2,pve2"}, "/cluster/ha/rules"),
    ("pve_list_ha_rules", {"type": "node-affinity"}, "/cluster/ha/rules"),
    ("pve_get_ha_rule", {"rule": "ci-rule"}, "/cluster/ha/rules/ci-rule"),
    ("pve_update_ha_rule", {"rule": "ci-rule", "comment": "ci"}, "/cluster/ha/rules/ci-rule"),
    ("pve_delete_ha_rule", {"rule": "ci-rule"}, "/cluster/ha/rules/ci-rule"),
    ("pve_delete_ha_resource", {"sid": "vm:300"}, "/cluster/ha/resources/vm:300"),
    ("pve_disarm_ha", {"resource_mode": "freeze"}, "/cluster/ha/status/disarm-ha"),
    ("pve_arm_ha", {}, "/cluster/ha/status/arm-ha"),
    ("pve_get_firewall_options", {}, "/cluster/firewall/options"),
    ("pve_list_firewall_rules", {}, "/cluster/firewall/rules"),
    ("pve_list_firewall_aliases", {}, "/cluster/firewall/aliases"),
    ("pve_list_firewall_ipsets", {}, "/cluster/firewall/ipset"),
    ("pve_update_firewall_options", {"policy_in": "DROP", "log_ratelimit": "enable=1,burst=5,rate=1/second"}, "/cluster/firewall/options"),
    ("pve_create_firewall_rule", {"action": "ACCEPT", "type": "in", "proto": "tcp", "dport": "22",
                                  "source": "10.0.0.0/24", "comment": "ssh", "enable": True}, "/cluster/firewall/rules"),
    ("pve_update_firewall_rule", {"pos": 0, "comment": "ssh from lan"}, "/cluster/firewall/rules/0"),
    ("pve_delete_firewall_rule", {"pos": 0}, "/cluster/firewall/rules/0"),
    ("pve_get_storage_config", {"storage": "local"}, "/storage/local"),
    ("pve_list_node_storage", {"node": "pve1", "content": "iso"}, "/nodes/pve1/storage"),
    ("pve_get_storage_status", {"node": "pve1", "storage": "local"}, "/nodes/pve1/storage/local/status"),
    ("pve_create_storage", {"storage": "nas", "type": "nfs", "server": "192.0.2.10", "export": "/srv/pve",
                            "content": "images,iso"}, "/storage"),
    ("pve_update_storage", {"storage": "nas", "nodes": "pve1", "disable": False}, "/storage/nas"),
    ("pve_delete_storage", {"storage": "nas"}, "/storage/nas"),
    ("pve_list_networks", {"node": "pve1", "type": "bridge"}, "/nodes/pve1/network"),
    ("pve_create_network", {"node": "pve1", "iface": "vmbr1", "type": "bridge", "bridge_ports": "eno2",
                            "autostart": True}, "/nodes/pve1/network"),
    ("pve_get_network", {"node": "pve1", "iface": "vmbr1"}, "/nodes/pve1/network/vmbr1"),
    ("pve_update_network", {"node": "pve1", "iface": "vmbr1", "type": "bridge", "address": "10.9.0.1",
                            "netmask": "255.255.255.0"}, "/nodes/pve1/network/vmbr1"),
    ("pve_delete_network", {"node": "pve1", "iface": "vmbr1"}, "/nodes/pve1/network/vmbr1"),
    ("pve_list_backup_jobs", {}, "/cluster/backup"),
    ("pve_create_backup_job", {"vmid": "300", "storage": "local", "schedule": "sat 02:00", "mode": "snapshot",
                               "compress": "zstd", "enabled": True}, "/cluster/backup"),
    ("pve_run_backup", {"node": "pve1", "vmid": "300", "storage": "local", "mode": "snapshot"}, "/nodes/pve1/vzdump"),
    ("pve_update_cluster_options", {"keyboard": "de", "console": "html5", "crs": "ha=static"}, "/cluster/options"),
    ("pve_list_nodes", {}, "/nodes"),
    ("pve_get_cluster_status", {}, "/cluster/status"),
    ("pve_list_cluster_resources", {"type": "vm"}, "/cluster/resources"),
    ("pve_list_lxc_containers", {"node": "pve1"}, "/nodes/pve1/lxc"),
    ("pve_get_qemu_status", {"node": "pve1", "vmid": 300}, "/qemu/300/status/current"),
    ("pve_get_qemu_config", {"node": "pve1", "vmid": 300}, "/qemu/300/config"),
    ("pve_create_qemu_snapshot", {"node": "pve1", "vmid": 300, "snapname": "ci1", "description": "ci"}, "/qemu/300/snapshot"),
    ("pve_list_qemu_snapshots", {"node": "pve1", "vmid": 300}, "/qemu/300/snapshot"),
    ("pve_rollback_qemu_snapshot", {"node": "pve1", "vmid": 300, "snapname": "ci1"}, "/qemu/300/snapshot/ci1/rollback"),
    ("pve_clone_qemu_vm", {"node": "pve1", "vmid": 300, "newid": 302, "name": "ci-clone", "snapname": "ci1"}, "/qemu/300/clone"),
    ("pve_delete_qemu_snapshot", {"node": "pve1", "vmid": 300, "snapname": "ci1"}, "/qemu/300/snapshot/ci1"),
    ("pve_start_qemu_vm", {"node": "pve1", "vmid": 302}, "/qemu/302/status/start"),
    ("pve_reboot_qemu_vm", {"node": "pve1", "vmid": 302}, "/qemu/302/status/reboot"),
    ("pve_shutdown_qemu_vm", {"node": "pve1", "vmid": 302, "timeout": 30}, "/qemu/302/status/shutdown"),
    ("pve_start_lxc_container", {"node": "pve1", "vmid": 210}, "/lxc/210/status/start"),
    ("pve_stop_lxc_container", {"node": "pve1", "vmid": 210}, "/lxc/210/status/stop"),
    ("pve_list_storage", {"type": "dir"}, "/storage"),
    ("pve_list_storage_content", {"node": "pve1", "storage": "local", "content": "iso"}, "/nodes/pve1/storage/local/content"),
    ("pve_bulk_start_guests", {"vms": [300, 302], "max_workers": 2}, "/cluster/bulk-action/guest/start"),
    ("pve_bulk_suspend_guests", {"vms": [300], "to_disk": False}, "/cluster/bulk-action/guest/suspend"),
    ("pve_bulk_migrate_guests", {"vms": [302], "target": "pve2", "online": True}, "/cluster/bulk-action/guest/migrate"),
    ("pve_bulk_shutdown_guests", {"vms": [300, 302], "timeout": 30, "force_stop": False}, "/cluster/bulk-action/guest/shutdown"),
    ("pve_get_backup_job", {"id": "backup-ci"}, "/cluster/backup/backup-ci"),
    ("pve_delete_backup_job", {"id": "backup-ci"}, "/cluster/backup/backup-ci"),
]


async def main():
    tmp = str(scratch_dir("portcullis-interop-"))
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
        # The tools beyond mcp-pve's first release, each through the SDK
        # against fakepve, which checks every request against the official
        # PVE API schema (parameters, property-string formats).
        pve.add_ct(200, "ct-01", node="pve1", status="running")
        pve.add_node("pve2")
        async with client(cfg, "carol", accept) as c:
            for tool, args, path in FAMILY_CALLS:
                before = len(pve.requests)
                r = await c.call_tool(tool, args)
                seen = [q[:2] for q in pve.requests[before:]]
                check(f"{tool} is accepted by fakepve's PVE schema", not is_error(r), text(r))
                check(f"{tool} reached {path}", any(urllib.parse.unquote(m_p[1]).endswith(path) for m_p in seen), seen)
        # A drop-in for mcp-pve: no configuration file, mcp-pve's environment.
        env = {"PVE_BASE_URL": pve.url, "PVE_TOKEN_ID": TOKEN, "PVE_TOKEN_SECRET": SECRET, "PVE_VERIFY_SSL": "false",
               "PVE_ACCESS_TIER": "read-only", "PVE_TOOL_BLACKLIST": "pve_get_node_syslog",
               "PORTCULLIS_AUDIT_LOG": str(Path(tmp) / "dropin-audit.jsonl"),
               "PORTCULLIS_LOG": "warn", "PATH": os.environ.get("PATH", "")}
        async with Client(StdioServerParameters(command=BIN, args=["serve"], env=env)) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            check("drop-in: the read-only tier lists read tools only",
                  "pve_list_nodes" in names and "pve_start_qemu_vm" not in names, sorted(names))
            check("drop-in: a blacklisted tool is not listed", "pve_get_node_syslog" not in names, sorted(names))
            r = await c.call_tool("pve_list_qemu_vms", {"node": "pve1"})
            check("drop-in: a read reaches fakepve", not is_error(r), text(r))
            r = await c.call_tool("pve_get_node_syslog", {"node": "pve1"})
            check("drop-in: the blacklisted tool is refused", is_error(r), text(r))
        dropin_log = (Path(tmp) / "dropin-audit.jsonl").read_text()
        check("drop-in: calls are audited where PORTCULLIS_AUDIT_LOG says", "pve_list_qemu_vms" in dropin_log)
        check("drop-in: the token secret is not in its audit log", SECRET not in dropin_log)
    finally:
        await pve.stop()

    audit = Path(tmp) / "audit.jsonl"
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    by_call = {}
    for rec in records:
        if "call" in rec:  # not the policy_loaded records of each start
            by_call.setdefault(rec["call"], []).append(rec["kind"])
    check("each start recorded the policy set it loaded",
          any(r["kind"] == "policy_loaded" for r in records), [r["kind"] for r in records][:5])
    pairs = [k for k in by_call.values() if "decision" in k]
    check("every call left a decision and an outcome record", all(k.count("outcome") == 1 for k in pairs), by_call)
    decisions = [r.get("decision") for r in records if r["kind"] == "decision"]
    check("the audit log has allows, denies, invalids and confirmations",
          {"allow", "deny", "invalid", "confirmation_required"} <= set(decisions), decisions)
    verify = subprocess.run([BIN, "audit", "verify", str(audit)], capture_output=True, text=True)
    check("the audit chain verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    blob = audit.read_text()
    check("the token secret is not in the audit log", SECRET not in blob)
    check("passwords given to tools are not in the audit log",
          "interop-user-pw-1" not in blob and "interop-ct-pw-1" not in blob)
    return summary("interop")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
