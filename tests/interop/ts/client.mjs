// One client session against Portcullis over Streamable HTTP with the
// official TypeScript MCP SDK. Called by ../mcp_http.py, which starts the
// server and checks what this prints (one JSON object on stdout).
//
//   node client.mjs URL CALLS_JSON
// Environment: MCP_TOKEN (bearer), MCP_CA / MCP_CERT / MCP_KEY (PEM files).
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { Agent, fetch as undiciFetch } from "undici";

const [url, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson ?? "[]");
const env = process.env;
const read = (f) => (f ? readFileSync(f) : undefined);

// TLS to a private CA, optionally with a client certificate (mTLS).
const agent = new Agent({ connect: { ca: read(env.MCP_CA), cert: read(env.MCP_CERT), key: read(env.MCP_KEY) } });
const fetch = (input, init) => undiciFetch(input, { ...init, dispatcher: agent });
const headers = env.MCP_TOKEN ? { Authorization: `Bearer ${env.MCP_TOKEN}` } : {};

const out = { connected: false, tools: [], calls: [], elicitations: 0 };
const client = new Client({ name: "portcullis-ts-interop", version: "1.0.0" }, { capabilities: { elicitation: {} } });
client.setRequestHandler(ElicitRequestSchema, async () => {
  out.elicitations += 1;
  return { action: "accept", content: { confirm: true } };
});
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch });
try {
  await client.connect(transport);
  out.connected = true;
  out.session = transport.sessionId ?? null;
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  for (const [name, args] of calls) {
    const r = await client.callTool({ name, arguments: args });
    out.calls.push({ name, isError: Boolean(r.isError), text: r.content.map((c) => c.text ?? "").join(" ") });
  }
  await transport.terminateSession();
  await client.close();
} catch (e) {
  out.error = String(e?.message ?? e);
  out.code = e?.code ?? null;
}
console.log(JSON.stringify(out));
await agent.close();
