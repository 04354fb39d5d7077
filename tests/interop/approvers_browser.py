"""An approval round trip with a person in a real browser: an agent (the
official Python MCP SDK over Streamable HTTP) asks to stop a VM on the lab,
policy parks the call; an approver signs in to the approvers' page in
headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium), reads what will run, approves it; the agent calls again with the
approval id and the stop runs; the page then shows it approved and run.
Screenshots of each step are written and their paths printed.

Usage: python approvers_browser.py PATH_TO_PORTCULLIS_BINARY
Prints one line per check and exits non-zero if any fails.
"""

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
from interop_common import scratch_dir, write_approvals_config, start_http_server, check, is_error, summary, text
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

BIN = sys.argv[1]
AGENT_KEY = "pcl_" + os.urandom(24).hex()
DAVE_KEY = "pcl_" + os.urandom(24).hex()
SHOTS = Path(__file__).resolve().parents[2] / "target" / "browser-screenshots"


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,1000", f"--user-data-dir={scratch_dir('portcullis-chromium-')}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for(driver, condition, what):
    """Wait (10 s at most) for the page a click loads; None if it never came."""
    try:
        return WebDriverWait(driver, 10).until(condition)
    except Exception:  # noqa: BLE001 - a timeout is a failed check, reported by the caller
        print(f"     (gave up waiting for {what})", flush=True)
        return None


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"     screenshot: {path}", flush=True)


async def agent_call(url, args):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {AGENT_KEY}"}, timeout=httpx2.Timeout(30))
    async with Client(streamable_http_client(url, http_client=http)) as c:
        return await c.call_tool("pve_stop_qemu_vm", args)


def records(tmp):
    import json
    audit = tmp / "audit.jsonl"
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


def approvers(driver, base, tmp, request_id):
    driver.get(base + "/admin/")
    check("browser: the page asks for an approver key", driver.find_elements(By.ID, "key"), driver.page_source[:300])
    shot(driver, "1-sign-in")

    # A wrong key signs nobody in.
    driver.find_element(By.ID, "key").send_keys("pcl_not-a-key")
    driver.find_element(By.ID, "sign-in").click()
    refused = wait_for(driver, seen.presence_of_element_located((By.CSS_SELECTOR, "p.error")), "the refusal")
    check("browser: a wrong key is refused", refused and "not an approver key" in refused.text, driver.page_source[:300])

    driver.find_element(By.ID, "key").send_keys(DAVE_KEY)
    driver.find_element(By.ID, "sign-in").click()
    who = wait_for(driver, seen.presence_of_element_located((By.CSS_SELECTOR, "header strong")), "the list")
    check("browser: signed in as dave", who and who.text == "dave", driver.page_source[:500])
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies.get("portcullis_approver", {})
    check("browser: the session cookie is HttpOnly and SameSite=Strict",
          session.get("httpOnly") and session.get("sameSite") == "Strict", session)
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.request")]
    check("browser: the open request is listed", request_id in links, links)
    shot(driver, "2-open-requests")

    driver.find_element(By.LINK_TEXT, request_id).click()
    args = wait_for(driver, seen.presence_of_element_located((By.ID, "args")), "the request").text
    check("browser: the page shows exactly what will run",
          '"vmid": 101' in args and '"node": "pve1"' in args and "pve_stop_qemu_vm" in driver.page_source, args)
    check("browser: and who asked, and why", "carol" in driver.page_source and "INC-4711" in driver.page_source,
          driver.page_source[:800])
    shot(driver, "3-request")

    driver.find_element(By.ID, "approve-reason").send_keys("checked with the app owner")
    driver.find_element(By.ID, "approve").click()
    notice = wait_for(driver, seen.presence_of_element_located((By.CSS_SELECTOR, "p.notice")), "the answer")
    state = driver.find_element(By.ID, "state").text
    check("browser: approved", notice and "You approved" in notice.text and state == "approved, not run yet", state)
    shot(driver, "4-approved")
    approved = [r for r in records(tmp) if r.get("kind") == "approval" and r.get("event") == "approved"]
    check("the approval is audited with the approver's name",
          approved and approved[-1]["by"].startswith("dave (operator approvers' page from 127.0.0.1"), approved)


async def main():
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        check("chromium and chromedriver installed (scripts/setup-browser.sh)", False, "missing")
        return summary("approvers' page (browser)")
    tmp = scratch_dir("portcullis-approvers-")
    cfg = write_approvals_config(tmp, AGENT_KEY, DAVE_KEY)
    proc, url, log = start_http_server(BIN, cfg, tmp, "debug")
    base = url.removesuffix("/mcp")
    driver = None
    try:
        args = {"node": "pve1", "vmid": 101, "confirm": True, "justification": "INC-4711 runaway guest"}
        r = await agent_call(url, args)
        found = re.search(r"apr-[0-9a-f]+", text(r))
        check("agent: the stop is parked for approval", is_error(r) and found and "approval" in text(r), text(r))
        request_id = found.group(0) if found else "apr-missing"

        driver = browser()
        approvers(driver, base, tmp, request_id)

        r = await agent_call(url, dict(args, approval_id=request_id))
        check("agent: called again with the approval id, the stop runs", not is_error(r), text(r))
        r = await agent_call(url, dict(args, approval_id=request_id))
        check("agent: the approval is spent", is_error(r), text(r))

        driver.refresh()
        state = driver.find_element(By.ID, "state").text
        check("browser: the page shows it approved and run", state == "approved and run", state)
        shot(driver, "5-run")
        driver.find_element(By.CSS_SELECTOR, "header form button").click()
        key = wait_for(driver, seen.presence_of_element_located((By.ID, "key")), "the sign-in form")
        check("browser: signed out", key is not None, driver.page_source[:300])
    finally:
        if driver is not None:
            driver.quit()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

    recs = records(tmp)
    events = [r.get("event") for r in recs if r.get("kind") in ("approval", "approver_session")]
    check("audit: requested, signed in, approved, signed out",
          all(e in events for e in ["requested", "signed_in", "approved", "signed_out"]), events)
    ran = [r for r in recs if r.get("approval") == request_id and r.get("kind") == "outcome"]
    check("audit: the approved call ran once, under its approval id",
          [r.get("outcome") for r in ran] == ["ok", "rejected"], ran)
    verify = subprocess.run([BIN, "audit", "verify", str(tmp / "audit.jsonl")], capture_output=True, text=True)
    check("the audit chain verifies", verify.returncode == 0, verify.stdout + verify.stderr)
    log.seek(0)
    everything = (tmp / "audit.jsonl").read_text() + log.read()
    leaked = [n for n, s in [("agent key", AGENT_KEY), ("approver key", DAVE_KEY)] if s in everything]
    check("no key appears in the audit log or the server's debug output", not leaked, leaked)
    return summary("approvers' page (browser)")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
