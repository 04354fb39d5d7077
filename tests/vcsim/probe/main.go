// probe reads vcsim's state with govmomi, a client independent of
// Portcullis's own, so tests can check what a tool really did.
//
//	probe -url https://127.0.0.1:PORT/sdk vm NAME      {"exists":…,"power_state":…,"snapshots":[…],"current_snapshot":…,"path":…,"cpus":…,"memory_mb":…,
//	                                                    "annotation":…,"boot_time":…,"host":…,"resource_pool":…,"serials":[…],"nics":[…],
//	                                                    "cdroms":[{"key":…,"iso":…,"connected":…}],"template":…,"datastores":[…],…}
//	probe -url … pool PATH                              {"exists":…}
//	probe -url … tasks VM                               {"exists":…,"tasks":[{"id":…,"name":DESCRIPTION_ID,"state":…},…]} (oldest first)
//	probe -url … task ID                                {"exists":…,"state":…,"cancelled":…}
//	probe -url … host NAME                              {"exists":…,"maintenance":…}
//	probe -url … folder PATH                            {"exists":…}
//	probe -url … sessions count|terminate               {"others": N} (sessions besides the probe's)
//	probe -url … file DATASTORE/PATH                    {"exists":…,"content":…}
//	probe -url … stat DATASTORE/PATH                    {"exists":…,"folder":…} (a file or a folder)
//	probe -url … mktag CATEGORY/TAG                     {"exists":true,"id":…} (creates both)
//	probe -url … tags VM                                {"exists":…,"tags":["CATEGORY/TAG",…]}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// snapshots appends the tree's names, depth first, to out, and returns the
// name of the one whose reference is current ("" if none).
func snapshots(list []types.VirtualMachineSnapshotTree, current *types.ManagedObjectReference, out *[]string) string {
	found := ""
	for _, s := range list {
		*out = append(*out, s.Name)
		if current != nil && s.Snapshot == *current {
			found = s.Name
		}
		if n := snapshots(s.ChildSnapshotList, current, out); n != "" {
			found = n
		}
	}
	return found
}

// objName is the name of a managed object, "" when there is none or it is
// gone (vcsim 0.24 can leave a VM referring to a resource pool it deleted).
func objName(ctx context.Context, c *govmomi.Client, ref *types.ManagedObjectReference) string {
	if ref == nil {
		return ""
	}
	n, err := object.NewCommon(c.Client, *ref).ObjectName(ctx)
	if err != nil {
		return ""
	}
	return n
}

func main() {
	raw := flag.String("url", "", "vcsim SDK URL")
	flag.Parse()
	if flag.NArg() != 2 {
		log.Fatal("usage: probe -url URL vm|host|folder NAME")
	}
	u, err := url.Parse(*raw)
	if err != nil {
		log.Fatal(err)
	}
	u.User = url.UserPassword("user", "pass")
	ctx := context.Background()
	// Loopback test simulator only: certificate checks are Portcullis's job.
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		log.Fatal(err)
	}
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		log.Fatal(err)
	}
	finder.SetDatacenter(dc)
	out := map[string]interface{}{"exists": false}
	kind, name := flag.Arg(0), flag.Arg(1)
	switch kind {
	case "vm":
		vm, err := finder.VirtualMachine(ctx, name)
		if err == nil {
			var m mo.VirtualMachine
			if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.powerState", "runtime.host", "config.hardware", "config.annotation", "config.template", "snapshot", "summary.runtime.bootTime", "resourcePool", "datastore"}, &m); err != nil {
				log.Fatal(err)
			}
			names := []string{}
			current := ""
			if m.Snapshot != nil {
				current = snapshots(m.Snapshot.RootSnapshotList, m.Snapshot.CurrentSnapshot, &names)
			}
			serial := 0
			serials := []map[string]interface{}{}
			disks := []map[string]interface{}{}
			nics := []map[string]interface{}{}
			cdroms := []map[string]interface{}{}
			datastores := []string{}
			for i := range m.Datastore {
				datastores = append(datastores, objName(ctx, c, &m.Datastore[i]))
			}
			for _, d := range m.Config.Hardware.Device {
				switch dev := d.(type) {
				case *types.VirtualCdrom:
					iso := ""
					if b, ok := dev.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
						iso = b.FileName
					}
					connected := dev.Connectable != nil && dev.Connectable.Connected
					cdroms = append(cdroms, map[string]interface{}{"key": dev.Key, "iso": iso, "connected": connected})
				case *types.VirtualSerialPort:
					serial++
					uri := ""
					if b, ok := dev.Backing.(*types.VirtualSerialPortURIBackingInfo); ok {
						uri = b.ServiceURI
					}
					connected := dev.Connectable != nil && dev.Connectable.Connected
					serials = append(serials, map[string]interface{}{"key": dev.Key, "uri": uri, "connected": connected})
				case *types.VirtualDisk:
					disks = append(disks, map[string]interface{}{"key": dev.Key, "capacity_kb": dev.CapacityInKB})
				default:
					if card, ok := d.(types.BaseVirtualEthernetCard); ok {
						nic := card.GetVirtualEthernetCard()
						connected := nic.Connectable != nil && nic.Connectable.Connected
						network := ""
						switch b := nic.Backing.(type) {
						case *types.VirtualEthernetCardNetworkBackingInfo:
							network = objName(ctx, c, b.Network)
						case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
							network = "portgroup:" + b.Port.PortgroupKey
						}
						nics = append(nics, map[string]interface{}{"key": nic.Key, "connected": connected, "network": network,
							"mac": nic.MacAddress, "address_type": nic.AddressType})
					}
				}
			}
			out = map[string]interface{}{
				"exists": true, "path": vm.InventoryPath, "power_state": m.Runtime.PowerState,
				"snapshots": names, "current_snapshot": current, "cpus": m.Config.Hardware.NumCPU, "memory_mb": m.Config.Hardware.MemoryMB,
				"disks": disks, "nics": nics, "cdroms": cdroms, "template": m.Config.Template, "serial_ports": serial, "serials": serials,
				"annotation": m.Config.Annotation, "boot_time": m.Summary.Runtime.BootTime,
				"host": objName(ctx, c, m.Runtime.Host), "resource_pool": objName(ctx, c, m.ResourcePool),
				"datastores": datastores,
			}
		}
	case "host":
		h, err := finder.HostSystem(ctx, name)
		if err == nil {
			var m mo.HostSystem
			if err := h.Properties(ctx, h.Reference(), []string{"runtime"}, &m); err != nil {
				log.Fatal(err)
			}
			out = map[string]interface{}{"exists": true, "maintenance": m.Runtime.InMaintenanceMode}
		}
	case "sessions":
		// "sessions terminate": end every session but this one, as a
		// vCenter restart or an idle timeout would.
		var sm mo.SessionManager
		if err := c.RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm); err != nil {
			log.Fatal(err)
		}
		keys := []string{}
		for _, s := range sm.SessionList {
			if sm.CurrentSession == nil || s.Key != sm.CurrentSession.Key {
				keys = append(keys, s.Key)
			}
		}
		if name == "terminate" && len(keys) > 0 {
			req := types.TerminateSession{This: *c.ServiceContent.SessionManager, SessionId: keys}
			if _, err := methods.TerminateSession(ctx, c.Client, &req); err != nil {
				log.Fatal(err)
			}
		}
		out = map[string]interface{}{"exists": true, "others": len(keys)}
	case "file":
		parts := strings.SplitN(name, "/", 2)
		ds, err := finder.Datastore(ctx, parts[0])
		if err != nil {
			log.Fatal(err)
		}
		r, _, err := ds.Download(ctx, parts[1], &soap.DefaultDownload)
		if err == nil {
			b, err := ioutil.ReadAll(r)
			if err != nil {
				log.Fatal(err)
			}
			out = map[string]interface{}{"exists": true, "content": string(b)}
		}
	case "stat":
		parts := strings.SplitN(name, "/", 2)
		ds, err := finder.Datastore(ctx, parts[0])
		if err != nil {
			log.Fatal(err)
		}
		info, err := ds.Stat(ctx, parts[1])
		if err == nil {
			_, folder := info.(*types.FolderFileInfo)
			out = map[string]interface{}{"exists": true, "folder": folder}
		}
	case "mktag", "tags":
		rc := rest.NewClient(c.Client)
		if err := rc.Login(ctx, u.User); err != nil {
			log.Fatal(err)
		}
		m := tags.NewManager(rc)
		if kind == "mktag" {
			parts := strings.SplitN(name, "/", 2)
			cat := ""
			if existing, err := m.GetCategory(ctx, parts[0]); err == nil {
				cat = existing.ID
			} else if cat, err = m.CreateCategory(ctx, &tags.Category{Name: parts[0], Cardinality: "MULTIPLE", AssociableTypes: []string{"VirtualMachine"}}); err != nil {
				log.Fatal(err)
			}
			id, err := m.CreateTag(ctx, &tags.Tag{Name: parts[1], CategoryID: cat})
			if err != nil {
				log.Fatal(err)
			}
			out = map[string]interface{}{"exists": true, "id": id}
			break
		}
		vm, err := finder.VirtualMachine(ctx, name)
		if err != nil {
			break
		}
		attached, err := m.GetAttachedTags(ctx, vm.Reference())
		if err != nil {
			log.Fatal(err)
		}
		names := []string{}
		for _, t := range attached {
			cat, err := m.GetCategory(ctx, t.CategoryID)
			if err != nil {
				log.Fatal(err)
			}
			names = append(names, cat.Name+"/"+t.Name)
		}
		sort.Strings(names)
		out = map[string]interface{}{"exists": true, "tags": names}
	case "pool":
		if _, err := finder.ResourcePool(ctx, name); err == nil {
			out = map[string]interface{}{"exists": true}
		}
	case "tasks":
		vm, err := finder.VirtualMachine(ctx, name)
		if err != nil {
			break
		}
		var tm mo.TaskManager
		if err := c.RetrieveOne(ctx, *c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
			log.Fatal(err)
		}
		list := []map[string]interface{}{}
		for _, ref := range tm.RecentTask {
			var t mo.Task
			if err := c.RetrieveOne(ctx, ref, []string{"info"}, &t); err != nil {
				log.Fatal(err)
			}
			if t.Info.Entity != nil && *t.Info.Entity == vm.Reference() {
				list = append(list, map[string]interface{}{"id": ref.Value, "name": t.Info.DescriptionId, "state": t.Info.State})
			}
		}
		out = map[string]interface{}{"exists": true, "tasks": list}
	case "task":
		var t mo.Task
		if err := c.RetrieveOne(ctx, types.ManagedObjectReference{Type: "Task", Value: name}, []string{"info"}, &t); err == nil {
			out = map[string]interface{}{"exists": true, "state": t.Info.State, "cancelled": t.Info.Cancelled}
		}
	case "folder":
		if _, err := finder.Folder(ctx, name); err == nil {
			out = map[string]interface{}{"exists": true}
		}
	default:
		log.Fatalf("unknown kind %q", kind)
	}
	_ = c.Logout(ctx)
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		log.Fatal(err)
	}
}
