"""Drive `portcullis serve --transport http` with the official MCP SDK clients
(Python `mcp` from PyPI, TypeScript `@modelcontextprotocol/sdk` from npm),
with each authentication method: API key, OAuth bearer JWT, mTLS.

The server runs against the embedded lab cluster (`--lab-backend`) over TLS
with a CA, server and client certificates and a JWT signing key made here.

Usage: python mcp_http.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import datetime
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from interop_common import scratch_dir, start_http_server, accept, check, is_error, summary, text
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]
BIN = sys.argv[1]
TS_CLIENT = ROOT / "tests" / "interop" / "ts" / "client.mjs"
ISSUER = "https://idp.interop.invalid"
AUDIENCE = "portcullis-interop"
ALICE_KEY = "pcl_" + os.urandom(24).hex()
BOB_KEY = "pcl_" + os.urandom(24).hex()
TOKENS = []  # every JWT issued, to look for in the logs afterwards


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate(cn, key, issuer_name, issuer_key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    elif not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    return b.sign(issuer_key or key, hashes.SHA256())


def make_pki(tmp):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Portcullis Interop CA", ca_key, None, None, ca=True)
    files = {"ca": tmp / "ca.pem"}
    files["ca"].write_bytes(pem(ca))
    for name, server in [("server", True), ("carol", False)]:
        key = ec.generate_private_key(ec.SECP256R1())
        cn = "127.0.0.1" if server else name
        files[name] = tmp / f"{name}.pem"
        files[name + "_key"] = tmp / f"{name}.key"
        files[name].write_bytes(pem(certificate(cn, key, ca.subject, ca_key, server=server)))
        files[name + "_key"].write_bytes(pem(key))
    return files


def make_jwt_key(tmp):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "interop-1", "alg": "ES256", "use": "sig"})
    (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return key


def token(key, sub, groups, **over):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "groups": groups, "iat": now, "exp": now + 600}
    claims.update(over)
    TOKENS.append(jwt.encode(claims, key, algorithm="ES256", headers={"kid": "interop-1"}))
    return TOKENS[-1]


def write_config(tmp, pki):
    shutil.copytree(ROOT / "policies" / "default", tmp / "policies")
    cfg = tmp / "portcullis.toml"
    cfg.write_text(f"""
[server]
policies = "policies"
audit_log = "audit.jsonl"

[[principals]]
id = "carol"
groups = ["admins"]

[http]
listen = "127.0.0.1:0"

[http.tls]
cert_file = "{pki['server']}"
key_file = "{pki['server_key']}"
client_ca_file = "{pki['ca']}"

[[http.api_keys]]
principal = "alice"
groups = ["readers"]
sha256 = "{sha256(ALICE_KEY)}"

[[http.api_keys]]
principal = "bob"
groups = ["operators"]
sha256 = "{sha256(BOB_KEY)}"

[http.oauth]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
jwks_file = "jwks.json"
algorithms = ["ES256"]
""")
    return cfg


def http_client(pki, bearer=None, cert=False):
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert:
        ctx.load_cert_chain(str(pki["carol"]), str(pki["carol_key"]))
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    return httpx2.AsyncClient(verify=ctx, headers=headers, timeout=httpx2.Timeout(30, read=300))


def client(url, pki, bearer=None, cert=False, mode="legacy", elicit=None):
    transport = streamable_http_client(url, http_client=http_client(pki, bearer, cert))
    return Client(transport, elicitation_callback=elicit, mode=mode)


async def python_sdk(url, pki, signing_key):
    # API key: a reader lists, is denied a stop, sees only what it may call.
    for mode in ["legacy", "auto"]:
        async with client(url, pki, bearer=ALICE_KEY, mode=mode) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            check(f"python/{mode}/api_key: reader sees read tools only",
                  "pve_list_nodes" in names and "pve_stop_qemu_vm" not in names, sorted(names))
            r = await c.call_tool("pve_list_nodes", {})
            check(f"python/{mode}/api_key: list nodes", not is_error(r) and "pve1" in text(r), text(r))
            r = await c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": 100})
            check(f"python/{mode}/api_key: stop denied", is_error(r) and "no policy permits it" in text(r), text(r))

    # OAuth: an operator from the token's groups stops a VM after a human confirms.
    dana = token(signing_key, "dana", ["operators"])
    for mode in ["legacy", "auto"]:
        async with client(url, pki, bearer=dana, mode=mode, elicit=accept) as c:
            vmid = 100 if mode == "legacy" else 101
            r = await c.call_tool("pve_stop_qemu_vm", {"node": "pve1", "vmid": vmid})
            check(f"python/{mode}/oauth: operator stops VM {vmid} after elicitation", not is_error(r), text(r))

    # mTLS: the certificate's CN is the principal; groups from [[principals]].
    async with client(url, pki, cert=True) as c:
        r = await c.call_tool("pve_get_qemu_config", {"node": "pve1", "vmid": 100})
        check("python/legacy/mtls: admin reads a VM config", not is_error(r) and "web-01" in text(r), text(r))

    # No credentials: the SDK surfaces the 401.
    try:
        async with client(url, pki) as c:
            await c.list_tools()
        check("python: no credentials is refused", False, "connected")
    except BaseException as e:  # noqa: BLE001 - the SDK raises an exception group
        check("python: no credentials is refused", "no credentials" in repr(e), repr(e)[:300])

    # An expired token is refused too.
    expired = token(signing_key, "dana", ["operators"], exp=int(time.time()) - 120)
    try:
        async with client(url, pki, bearer=expired) as c:
            await c.list_tools()
        check("python: expired token is refused", False, "connected")
    except BaseException as e:  # noqa: BLE001
        check("python: expired token is refused", "invalid token: expired" in repr(e), repr(e)[:300])


def ts_sdk(url, pki, signing_key):
    if shutil.which("node") is None or not (TS_CLIENT.parent / "node_modules").is_dir():
        check("typescript SDK installed (scripts/setup-test-env.sh)", False, "node_modules missing")
        return

    def run(calls, **env):
        e = {"PATH": os.environ.get("PATH", ""), "MCP_CA": str(pki["ca"])}
        e.update({k: str(v) for k, v in env.items()})
        p = subprocess.run(["node", str(TS_CLIENT), url, json.dumps(calls)], capture_output=True, text=True,
                           env=e, timeout=120)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"error": f"no output; stderr: {p.stderr[-500:]}"}

    out = run([["pve_list_nodes", {}], ["pve_stop_qemu_vm", {"node": "pve1", "vmid": 100}]], MCP_TOKEN=ALICE_KEY)
    calls = out.get("calls", [])
    check("typescript/api_key: connected with a session", out.get("connected") and out.get("session"), out)
    check("typescript/api_key: list nodes", len(calls) == 2 and not calls[0]["isError"] and "pve1" in calls[0]["text"], out)
    check("typescript/api_key: stop denied", len(calls) == 2 and calls[1]["isError"], out)

    dana = token(signing_key, "dana", ["operators"])
    out = run([["pve_start_qemu_vm", {"node": "pve2", "vmid": 102}], ["pve_stop_qemu_vm", {"node": "pve2", "vmid": 102}]],
              MCP_TOKEN=dana)
    calls = out.get("calls", [])
    check("typescript/oauth: operator stops a VM after elicitation",
          len(calls) == 2 and not calls[1]["isError"] and out.get("elicitations") == 1, out)

    out = run([["pve_get_qemu_config", {"node": "pve1", "vmid": 100}]],
              MCP_CERT=pki["carol"], MCP_KEY=pki["carol_key"])
    calls = out.get("calls", [])
    check("typescript/mtls: admin reads a VM config", len(calls) == 1 and not calls[0]["isError"], out)

    out = run([])
    check("typescript: no credentials is refused (401)", not out.get("connected") and out.get("code") == 401, out)


def records(tmp):
    audit = tmp / "audit.jsonl"
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


async def main():
    tmp = scratch_dir("portcullis-http-interop-")
    pki = make_pki(tmp)
    signing_key = make_jwt_key(tmp)
    cfg = write_config(tmp, pki)
    proc, url, log = start_http_server(BIN, cfg, tmp)
    try:
        check("server listens on https", url.startswith("https://127.0.0.1:"), url)
        await python_sdk(url, pki, signing_key)
        ts_sdk(url, pki, signing_key)

        # Policy reload on SIGHUP: readers lose their permit.
        (tmp / "policies" / "00-readers.cedar").unlink()
        proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not any(r.get("kind") == "policy_reload" for r in records(tmp)):
            time.sleep(0.2)
        reloads = [r for r in records(tmp) if r.get("kind") == "policy_reload"]
        check("SIGHUP reloads the policies (audited)", reloads and reloads[0]["result"] == "applied", reloads)
        async with client(url, pki, bearer=ALICE_KEY) as c:
            r = await c.call_tool("pve_list_nodes", {})
            check("after the reload the reader is denied", is_error(r), text(r))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
    check("SIGTERM stops the server cleanly", code == 0, code)

    recs = records(tmp)
    methods = {r.get("authentication") for r in recs if r.get("kind") == "decision"}
    check("decisions record each authentication method", {"api_key", "oauth", "mtls"} <= methods, methods)
    refused = [r for r in recs if r.get("kind") == "http_refused"]
    check("unauthenticated requests are audited", len(refused) >= 3, refused)
    verify = subprocess.run([BIN, "audit", "verify", str(tmp / "audit.jsonl")], capture_output=True, text=True)
    check("the audit chain verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    log.seek(0)
    everything = (tmp / "audit.jsonl").read_text() + log.read()
    secrets = [("alice key", ALICE_KEY), ("bob key", BOB_KEY),
               ("client key", pki["carol_key"].read_text().splitlines()[1])]
    secrets += [("jwt signature", t.split(".")[2]) for t in TOKENS]
    leaked = [n for n, s in secrets if s in everything]
    check("no credential appears in the audit log or server output", not leaked, leaked)
    return summary("interop (http)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
