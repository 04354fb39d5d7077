"""Drive Portcullis's VergeOS simulator with the official SDK (pyvergeos).

Run by tests/vergeos_sdk.rs, which starts the simulator and compares what
this script read and did with what the simulator holds. Environment:
VG_HOST (host:port), VG_USER, VG_PASS, and REQUESTS_CA_BUNDLE (the
simulator's certificate: verification stays on). Prints one JSON report
on stdout; any SDK error fails the run (exit 1, the error on stderr).
"""

import json
import os
import sys

from pyvergeos import VergeClient


def rows(items, *fields):
    return [{f: item.get(f) for f in fields} for item in items]


def main():
    # No retries: a status the SDK does not accept fails at once.
    c = VergeClient(
        host=os.environ["VG_HOST"],
        username=os.environ["VG_USER"],
        password=os.environ["VG_PASS"],
        verify_ssl=True,
        retry_status_codes=frozenset(),
    )
    r = {"version": c.version, "os_version": c.os_version, "cloud_name": c.cloud_name}

    vms = c.vms.list()
    r["vms"] = rows(vms, "$key", "name", "machine", "running", "status", "cpu_cores", "ram")
    web = c.vms.get(1)
    r["web"] = {"name": web.get("name"), "running": web.get("running"), "node_name": web.get("node_name")}
    r["db_by_name"] = c.vms.get(name="db-01").get("$key")
    r["page"] = [v.get("name") for v in c.vms.list(limit=2, offset=1)]
    r["web_status"] = dict(web.machine_status.get())
    r["web_drives"] = rows(web.drives.list(), "$key", "name", "disksize", "interface", "media", "machine")
    r["web_nics"] = rows(web.nics.list(), "$key", "macaddress", "ipaddress", "vnet_name", "machine")
    r["web_snapshots"] = rows(web.snapshots.list(), "$key", "name", "machine", "snap_machine")

    acme_app = c.vms.get(3)
    acme_app.power_on()
    r["acme_app_running_after_power_on"] = c.vms.get(3).get("running")
    acme_app.power_off()
    r["acme_app_running_after_power_off"] = c.vms.get(3).get("running")
    c.vms.get(4).power_off(force=True)
    r["legacy_running_after_kill"] = c.vms.get(4).get("running")
    web.reset()

    made = web.snapshots.create(name="sdk-snap", retention=0)
    r["snapshot_created"] = made.get("$key") if made else None
    r["web_snapshots_after_create"] = [s.get("name") for s in web.snapshots.list()]
    web.snapshots.delete(r["snapshot_created"])
    r["web_snapshots_after_delete"] = [s.get("name") for s in web.snapshots.list()]

    r["networks"] = rows(c.networks.list(), "$key", "name", "type", "running")
    r["internal"] = [n.get("name") for n in c.networks.list(type="internal")]
    net = c.networks.get(name="Internal")
    net.apply_rules()
    r["network_running"] = [n.get("name") for n in c.networks.list_running()]

    r["tenants"] = rows(c.tenants.list(), "$key", "name", "running", "network_name")
    c.tenants.power_on(2)
    r["globex_running"] = c.tenants.get(2).get("running")

    nodes = c.nodes.list()
    r["nodes"] = rows(nodes, "$key", "name", "machine", "running", "cluster_name")
    r["node1_stats"] = dict(c.nodes.get(1).stats.get())
    r["clusters"] = rows(c.clusters.list(), "$key", "name", "status_state", "total_nodes")
    r["cluster_status"] = rows(c.cluster_status.list(), "$key", "status", "online_nodes")
    r["volumes"] = rows(c.nas_volumes.list(), "$key", "name", "fs_type")
    r["error_logs"] = rows(c.logs.list(level="error"), "$key", "text", "object_type")
    r["vm_logs"] = rows(c.logs.list(object_type="VM", limit=1), "$key", "object_name")
    r["alarms"] = rows(c.alarms.list(), "$key", "alarm_id", "level", "owner_name")

    # Errors: a missing row is the SDK's NotFoundError.
    try:
        c.vms.get(99)
        r["missing_vm"] = "found?"
    except Exception as e:  # noqa: BLE001 - the class name is the result
        r["missing_vm"] = type(e).__name__
    print(json.dumps(r, default=str))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any SDK failure fails the check
        print(f"pyvergeos failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
