"""MCP tasks for calls parked for approval, with the official Python MCP SDK.

The client declares the tasks extension (io.modelcontextprotocol/tasks,
SEP-2663) through the SDK's own extension interface and claims the "task"
result shape; its resolver polls tasks/get. A stop on the lab needs an
approval: the SDK's call_tool returns only once an approver has answered
through the admin API — with the stop's own result when approved, with an
error naming the approver when denied. A client without the extension gets
the "call again with approval_id" answer instead, never a hang.

Usage: python approval_tasks.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar, Literal

import httpx2
import mcp_types
from interop_common import scratch_dir, write_approvals_config, check, is_error, start_http_server, summary, text
from mcp import Client
from mcp.client.extension import ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from pydantic import Field, TypeAdapter

BIN = sys.argv[1]
AGENT_KEY = "pcl_" + os.urandom(24).hex()
DAVE_KEY = "pcl_" + os.urandom(24).hex()
POLLED = []  # (task id, status) for every tasks/get the resolver made


class TaskHandle(mcp_types.Result):
    """The seed of a task (SEP-2663 CreateTaskResult: resultType "task")."""

    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")


class GetTask(mcp_types.GetTaskRequest):
    """tasks/get as SEP-2663 sends it on 2026-07-28: the task id is the
    request's name (the Mcp-Name header)."""

    name_param: ClassVar[str | None] = "taskId"


async def resolve(handle, ctx):
    """Poll tasks/get until the task ends; its result is the call's."""
    while True:
        request = GetTask(params=mcp_types.GetTaskRequestParams(task_id=handle.task_id))
        state = await ctx.session.send_request(request, TypeAdapter(dict))
        POLLED.append((handle.task_id, state["status"]))
        if state["status"] == "completed":
            return mcp_types.CallToolResult.model_validate(state["result"])
        if state["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"task {handle.task_id} ended {state['status']}: {json.dumps(state)[:300]}")
        await asyncio.sleep((state.get("pollIntervalMs") or 1000) / 1000)


class Tasks(ClientExtension):
    identifier = "io.modelcontextprotocol/tasks"

    def claims(self):
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=resolve)]


def client(url, extensions=None):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {AGENT_KEY}"}, timeout=httpx2.Timeout(30, read=120))
    return Client(streamable_http_client(url, http_client=http), extensions=extensions, mode="auto")


async def answer_when_asked(base, vmid, decision, reason):
    """As an approver: wait for the request about `vmid`, then answer it."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DAVE_KEY}"}, timeout=30) as api:
        for _ in range(100):
            open_ = (await api.get(f"{base}/admin/api/approvals")).json().get("approvals", [])
            mine = [r for r in open_ if r["args"].get("vmid") == vmid]
            if mine:
                r = await api.post(f"{base}/admin/api/approvals/{mine[0]['id']}/{decision}", json={"reason": reason})
                return mine[0]["id"], r.status_code
            await asyncio.sleep(0.2)
    return None, None


def records(tmp):
    audit = tmp / "audit.jsonl"
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


async def main():
    tmp = scratch_dir("portcullis-tasks-")
    proc, url, log = start_http_server(BIN, write_approvals_config(tmp, AGENT_KEY, DAVE_KEY), tmp)
    base = url.removesuffix("/mcp")
    try:
        async with client(url, extensions=[Tasks()]) as c:
            check("the session speaks a modern protocol revision", c.protocol_version == "2026-07-28",
                  c.protocol_version)
            # Approved: call_tool returns the stop's own result.
            call = asyncio.create_task(c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 101, "confirm": True}))
            approval, status = await answer_when_asked(base, 101, "approve", "CHG-31")
            check("an approver approves the parked call", status == 200, status)
            r = await asyncio.wait_for(call, 60)
            check("tasks: the call completes with its own result once approved",
                  not is_error(r) and "UPID:" in text(r), text(r))
            statuses = [status for _, status in POLLED]
            check("tasks: tasks/get showed it working, then completed",
                  statuses[0] == "working" and statuses[-1] == "completed" and len({t for t, _ in POLLED}) == 1,
                  POLLED)

            # Denied: an error result naming who denied it and why.
            call = asyncio.create_task(c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 102, "confirm": True}))
            _, status = await answer_when_asked(base, 102, "deny", "not in the change window")
            r = await asyncio.wait_for(call, 60)
            check("tasks: a denied call ends with who denied it and why",
                  is_error(r) and "denied by dave" in text(r) and "not in the change window" in text(r), text(r))

        # Without the extension: told to call again, at once.
        async with client(url) as c:
            r = await asyncio.wait_for(
                c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 100, "confirm": True}), 30)
            check("no tasks: the agent is told the request id and how to resume",
                  is_error(r) and "apr-" in text(r) and "approval_id" in text(r), text(r))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

    ran = [r for r in records(tmp) if r.get("kind") == "outcome" and r.get("approval") == approval]
    check("audit: the task's run is recorded under its approval id", [r["outcome"] for r in ran] == ["ok"], ran)
    verify = subprocess.run([BIN, "audit", "verify", str(tmp / "audit.jsonl")], capture_output=True, text=True)
    check("the audit chain verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    log.seek(0)
    everything = (tmp / "audit.jsonl").read_text() + log.read()
    check("no key appears in the audit log or server output",
          AGENT_KEY not in everything and DAVE_KEY not in everything, "leaked")
    return summary("approval tasks (python SDK)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
