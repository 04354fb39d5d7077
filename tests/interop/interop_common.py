"""What the interop scripts share: checks that count, result helpers, and
starting `portcullis serve --transport http` on the lab."""

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import mcp_types as types

RESULTS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)


def scratch_dir(prefix):
    """A temporary directory removed when the script exits, unless a check
    failed: then it is kept (and named) so its audit log can be read."""
    path = Path(tempfile.mkdtemp(prefix=prefix))

    def tidy():
        if RESULTS["failed"]:
            print(f"kept for inspection: {path}", flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(tidy)
    return path


def summary(label):
    """Print the totals; the process exit code (non-zero if any check failed)."""
    print(f"{label}: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 1 if RESULTS["failed"] else 0


def text(result):
    return " ".join(getattr(c, "text", "") for c in result.content)


def is_error(result):
    return bool(getattr(result, "is_error", False) or getattr(result, "isError", False))


async def accept(_ctx, _params):
    return types.ElicitResult(action="accept", content={"confirm": True})


async def decline(_ctx, _params):
    return types.ElicitResult(action="decline")


def start_http_server(binary, cfg, tmp, log_level="info"):
    """`serve --transport http --lab-backend` with `cfg`; returns the process,
    the MCP URL it printed, and its stderr log (a file, to search afterwards)."""
    log = open(tmp / "server.log", "w+")
    proc = subprocess.Popen(
        [binary, "serve", "--transport", "http", "--config", str(cfg), "--lab-backend"],
        stdout=subprocess.DEVNULL, stderr=log,
        env={"PATH": os.environ.get("PATH", ""), "PORTCULLIS_LOG": log_level},
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        for line in log.read().splitlines():
            if line.startswith("portcullis: serving MCP at "):
                return proc, line.split(" at ", 1)[1].strip(), log
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    raise SystemExit("server did not start:\n" + log.read())


ROOT = Path(__file__).resolve().parents[2]


def write_approvals_config(tmp, agent_key, approver_key):
    """A configuration where stopping a VM on the lab needs an approval (the
    shipped optional rule, pointed at the lab): carol is an agent with
    `agent_key`, dave an approver with `approver_key`."""
    sha256 = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    shutil.copytree(ROOT / "policies" / "default", tmp / "policies")
    rule = (ROOT / "policies" / "optional" / "approve-prod-deletes.cedar").read_text()
    (tmp / "policies" / "80-approve-lab.cedar").write_text(rule.replace('Endpoint::"prod"', 'Endpoint::"lab"'))
    cfg = tmp / "portcullis.toml"
    cfg.write_text(f"""
[server]
policies = "policies"
audit_log = "audit.jsonl"

[[principals]]
id = "carol"
groups = ["admins"]

[[principals]]
id = "dave"
groups = ["admins"]

[http]
listen = "127.0.0.1:0"

[[http.api_keys]]
principal = "carol"
groups = ["admins"]
sha256 = "{sha256(agent_key)}"

[[http.approver_keys]]
principal = "dave"
sha256 = "{sha256(approver_key)}"
""")
    return cfg
