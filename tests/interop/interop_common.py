"""What both interop scripts share: checks that count, and result helpers."""

import mcp_types as types

RESULTS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)


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
