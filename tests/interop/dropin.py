"""A seed's user switching to Portcullis: start `portcullis serve` with only
the seed's environment (this process's own, as tests/common/dropin.rs set
it; no configuration file) and call one tool through the official Python
MCP SDK.

argv: PORTCULLIS_BINARY TOOL ARGUMENTS_JSON. Prints one JSON report on
stdout: {"tools": [names listed], "is_error": bool, "text": the result}.
The server's stderr (what the drop-in chose) passes through to ours.
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters


async def main():
    binary, tool, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    params = StdioServerParameters(command=binary, args=["serve"], env=dict(os.environ))
    async with Client(params) as c:
        names = [t.name for t in (await c.list_tools()).tools]
        r = await c.call_tool(tool, args)
    text = " ".join(getattr(part, "text", "") for part in r.content)
    is_error = bool(getattr(r, "is_error", False) or getattr(r, "isError", False))
    print(json.dumps({"tools": names, "is_error": is_error, "text": text}))


asyncio.run(main())
