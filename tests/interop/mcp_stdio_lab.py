"""Drive `portcullis lab` over stdio with the official Python MCP SDK: the
lab serves two backends side by side (Proxmox VE and VergeOS); an admin
sees all 29 VergeOS tools and the four VergeOS resources; the forced path
of a power-off is destructive and confirmed by a human (elicitation).

Usage: python mcp_stdio_lab.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

from interop_common import accept, check, is_error, summary, text

ASKED = []


async def counting_accept(ctx, params):
    ASKED.append(params)
    return await accept(ctx, params)
from mcp import Client, StdioServerParameters

BIN = sys.argv[1]
PEER_TOOLS = [
    "list_vms", "get_vm", "get_vm_status", "get_vm_nics", "get_vm_drives", "power_on_vm",
    "power_off_vm", "force_off_vm", "reset_vm", "modify_vm", "add_drive", "resize_drive",
    "list_vm_snapshots", "create_vm_snapshot", "delete_vm_snapshot", "restore_vm_snapshot",
    "list_networks", "get_network", "network_action", "list_tenants", "get_tenant",
    "tenant_action", "list_nodes", "get_node_stats", "get_cluster_status", "get_cluster_stats",
    "list_volumes", "get_logs", "get_alarms",
]


def client(who, elicit=None):
    params = StdioServerParameters(
        command=BIN,
        args=["lab", "--as", who],
        env={"PORTCULLIS_LOG": "warn", "PATH": os.environ.get("PATH", "")},
    )
    return Client(params, elicitation_callback=elicit)


async def main():
    async with client("carol", counting_accept) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        vergeos = sorted(n for n in tools if n.startswith("vergeos_"))
        check("an admin sees all 29 VergeOS tools", vergeos == sorted("vergeos_" + n for n in PEER_TOOLS), vergeos)
        check("and the Proxmox VE tools beside them", "pve_list_qemu_vms" in tools, sorted(tools)[:5])
        ann = tools["vergeos_power_off_vm"].annotations
        check("power-off may destroy (its forced path)", ann is not None and ann.destructive_hint is True, ann)
        check("its description says when", "force_after_timeout is true" in tools["vergeos_power_off_vm"].description,
              tools["vergeos_power_off_vm"].description)
        uris = sorted(str(r.uri) for r in (await c.list_resources()).resources if str(r.uri).startswith("vergeos://"))
        check("the four VergeOS resources are listed",
              uris == sorted(f"vergeos://verge-lab/{n}" for n in ["alarms/active", "cluster/status", "networks/list", "vms/list"]),
              uris)
        read = await c.read_resource("vergeos://verge-lab/vms/list")
        body = json.loads(read.contents[0].text)
        check("reading vms/list answers the VMs", [v["name"] for v in body] == ["web-01", "db-01", "acme-app", "legacy-01"], body)
        r = await c.call_tool("vergeos_power_off_vm", {"id": 4, "wait_timeout": 1, "force_after_timeout": True})
        check("the forced power-off runs once a human confirms", not is_error(r) and '"forced":true' in text(r).replace(" ", ""), text(r))
        check("the human was asked once", len(ASKED) == 1, ASKED)
        r = await c.call_tool("vergeos_power_off_vm", {"id": 2})
        check("a graceful power-off runs without asking", not is_error(r) and len(ASKED) == 1, (text(r), ASKED))

        # mcp-pve 0.7.0: every tool, every argument name (the list its
        # release ships, kept in tests/interop/data).
        peers = json.loads((Path(__file__).parent / "data" / "mcp-pve-0.7.0-tools.json").read_text())
        missing = [t["name"] for t in peers if t["name"] not in tools]
        check("an admin sees all 117 mcp-pve 0.7.0 tools", len(peers) == 117 and not missing, missing)
        unknown = [(t["name"], p["name"]) for t in peers if t["name"] in tools
                   for p in t["params"] if p["name"] not in tools[t["name"]].input_schema.get("properties", {})]
        check("every mcp-pve argument name is accepted", not unknown, unknown)

    async with client("bob") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        check("an operator is not shown tenant actions", "vergeos_tenant_action" not in names, sorted(names))
        r = await c.call_tool("vergeos_tenant_action", {"id": 1, "action": "poweroff", "confirm": True})
        check("and is refused them", is_error(r) and "no policy permits it" in text(r), text(r))
    return summary("mcp stdio lab (pve + vergeos)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
