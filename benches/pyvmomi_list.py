"""The same VM listing as `vsphere_list_vms`, the way pyvmomi-based servers
(mcvsphere) do it, on the same vcsim inventory, for comparison with
benches/vsphere_list.rs. Two ways:

- "attribute walk": a ContainerView, then VM attributes read one by one
  (each a PropertyCollector round trip in pyvmomi), as simple code does;
- "property collector": one RetrievePropertiesEx with the same properties.

Usage: .venv/bin/python benches/pyvmomi_list.py  (needs pyvmomi and
target/vcsim/vcsim; BENCH_VMS, BENCH_RUNS, BENCH_CALLS as the Rust bench)
"""

import importlib.metadata
import os
import ssl
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

ROOT = Path(__file__).resolve().parents[1]
VMS = int(os.environ.get("BENCH_VMS", 100))
RUNS = int(os.environ.get("BENCH_RUNS", 7))
CALLS = int(os.environ.get("BENCH_CALLS", 10))
PROPS = ["name", "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB",
         "config.guestFullName", "runtime.host", "guest.ipAddress", "config.template"]


def attribute_walk(si):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
    rows = [{
        "name": vm.name, "power_state": vm.runtime.powerState, "cpus": vm.config.hardware.numCPU,
        "memory_mb": vm.config.hardware.memoryMB, "guest_os": vm.config.guestFullName,
        "host": vm.runtime.host.name, "ip": vm.guest.ipAddress, "template": vm.config.template,
    } for vm in view.view]
    view.Destroy()
    return len(rows)


def property_collector(si, view):
    pc = si.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
            obj=view, skip=True,
            selectSet=[vmodl.query.PropertyCollector.TraversalSpec(name="v", type=vim.view.ContainerView, path="view", skip=False)])],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=PROPS)])
    result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=1000))
    return len(result.objects)


def timed(f, calls):
    medians = []
    for _ in range(RUNS):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        medians.append((time.perf_counter() - t) / calls)
    return statistics.median(medians)


def main():
    tmp = tempfile.mkdtemp()
    cert = Path(tmp) / "vcsim.pem"
    sim = subprocess.Popen([str(ROOT / "target/vcsim/vcsim"), "-vms", str(VMS), "-cert", str(cert)],
                           stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().strip().split("=", 1)[1]
        host_port = url.split("//")[1].split("/")[0]
        host, port = host_port.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=str(cert))
        si = SmartConnect(host=host, port=int(port), user="user", pwd="pass", sslContext=ctx)
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        n = property_collector(si, view)
        walk = timed(lambda: attribute_walk(si), max(1, CALLS // 5))
        pc = timed(lambda: property_collector(si, view), CALLS)
        version = importlib.metadata.version("pyvmomi")
        print(f"pyvmomi {version} on vcsim, {n} VMs, median of {RUNS} runs:")
        print(f"  attribute walk (one round trip per attribute): {walk * 1e3:9.1f} ms")
        print(f"  one PropertyCollector call, objects parsed:    {pc * 1e3:9.2f} ms")
        Disconnect(si)
    finally:
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    main()
