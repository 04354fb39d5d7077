"""What the server tells a connected client, with the official Python MCP
SDK over stdio, handshake-era (legacy) and 2026-07-28 clients alike:

- tools.listChanged: when a policy reload changes what the client's
  principal may call, notifications/tools/list_changed (on the connection,
  or through subscriptions/listen), and tools/list then shows the new set;
  a reload that changes nothing for it sends nothing.
- logging: a client that set a level (logging/setLevel, or the request's
  _meta log level) is told how each of its calls ended, without the
  call's data.

Usage: python session_notifications.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import json
import shutil
import sys
import warnings
from pathlib import Path

import mcp_types as types
from interop_common import check, scratch_dir, summary
from mcp import Client, StdioServerParameters

BIN = sys.argv[1]
# Logging is deprecated by SEP-2577 and tested on purpose.
warnings.filterwarnings("ignore", message="The logging capability is deprecated")
ROOT = Path(__file__).resolve().parents[2]
LET_READERS_START = """@id("readers-start-vms")
permit (principal in Group::"readers", action == Action::"pve_start_qemu_vm", resource);
"""
UNRELATED = """@id("admins-nothing-new")
permit (principal in Group::"nobody-here", action == Action::"pve_list_nodes", resource);
"""


async def main():
    tmp = scratch_dir("portcullis-list-changed-")
    shutil.copytree(ROOT / "policies" / "default", tmp / "policies")
    cfg = tmp / "portcullis.toml"
    cfg.write_text(f"""[server]
principal = "alice"
policies = "{tmp / 'policies'}"
audit_log = "{tmp / 'audit.jsonl'}"

[[principals]]
id = "alice"
groups = ["readers"]
""")
    # Handshake-era clients get the notification on their connection;
    # 2026-07-28 clients ask for it with subscriptions/listen.
    legacy_changed = asyncio.Event()

    async def on_message(message):
        if isinstance(message, types.ToolListChangedNotification):
            legacy_changed.set()

    def params():
        return StdioServerParameters(command=BIN, args=["serve", "--config", str(cfg), "--lab-backend"],
                                     env={"PORTCULLIS_LOG": "warn"})

    async with Client(params(), message_handler=on_message, mode="legacy") as legacy, \
            Client(params(), mode="auto") as modern:
        for c in (legacy, modern):
            names = {t.name for t in (await c.list_tools()).tools}
            check("a reader is not listed pve_start_qemu_vm", "pve_start_qemu_vm" not in names, sorted(names))
        modern_changed = asyncio.Event()
        async with modern.listen(tools_list_changed=True) as sub:
            check("subscriptions/listen honours tools_list_changed", sub.honored.tools_list_changed is True,
                  sub.honored)

            async def follow():
                async for _event in sub:
                    modern_changed.set()

            follower = asyncio.create_task(follow())
            # A policy that concerns nobody here: the reload changes nothing
            # alice sees, so nothing is sent.
            (tmp / "policies" / "60-unrelated.cedar").write_text(UNRELATED)
            await asyncio.sleep(6)
            # The reload did happen (each server recorded the new set), so
            # the silence below is the server's choice, not a missed reload.
            loaded = [r for r in map(json.loads, (tmp / "audit.jsonl").read_text().splitlines())
                      if r.get("kind") == "policy_loaded"]
            check("the unrelated policy was loaded by both servers", len(loaded) >= 4,
                  [r.get("trigger") for r in loaded])
            check("an unrelated reload sends no list_changed",
                  not legacy_changed.is_set() and not modern_changed.is_set())
            (tmp / "policies" / "70-readers-start.cedar").write_text(LET_READERS_START)
            for label, event in (("handshake-era client", legacy_changed), ("2026-07-28 client (listen)",
                                                                          modern_changed)):
                try:
                    await asyncio.wait_for(event.wait(), 15)
                    check(f"{label}: a reload that lets readers start VMs says tools/list changed", True)
                except TimeoutError:
                    check(f"{label}: a reload that lets readers start VMs says tools/list changed", False,
                          "nothing within 15 s")
            follower.cancel()
        for c in (legacy, modern):
            names = {t.name for t in (await c.list_tools(cache_mode="bypass")).tools}
            check("tools/list now shows pve_start_qemu_vm", "pve_start_qemu_vm" in names, sorted(names))

    # Logging: each client is told how its own calls ended.
    for mode in ("legacy", "auto"):
        heard = []

        async def on_log(params):
            heard.append(params)

        opts = {"log_level": "info"} if mode == "auto" else {}
        async with Client(params(), logging_callback=on_log, mode=mode, **opts) as c:
            if mode == "legacy":
                await c.set_logging_level("info")
            await c.call_tool("pve_list_qemu_vms", {"node": "pve1"})
            await c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 100})
            await asyncio.sleep(0.5)
        data = [h.data for h in heard]
        check(f"{mode}: a read is told as done, with its endpoint and not its data",
              {"tool": "pve_list_qemu_vms", "outcome": "done", "endpoint": "lab"} in data, data)
        refused = [d for d in data if d.get("tool") == "pve_stop_qemu_vm"]
        check(f"{mode}: a refusal is told as a warning naming why",
              refused and refused[0]["outcome"] == "refused or failed"
              and any(h.level == "warning" for h in heard), data)
        check(f"{mode}: no VM data in the log", "vmid" not in str([d for d in data if d["outcome"] == "done"]),
              data)
    return summary("session notifications: tools/list_changed and log messages (python SDK)")


sys.exit(asyncio.run(main()))
