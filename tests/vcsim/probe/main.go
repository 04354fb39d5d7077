// probe reads vcsim's state with govmomi, a client independent of
// Portcullis's own, so tests can check what a tool really did.
//
//	probe -url https://127.0.0.1:PORT/sdk vm NAME      {"exists":…,"power_state":…,"snapshots":[…],"path":…,"cpus":…,"memory_mb":…}
//	probe -url … host NAME                              {"exists":…,"maintenance":…}
//	probe -url … folder PATH                            {"exists":…}
//	probe -url … sessions count|terminate               {"others": N} (sessions besides the probe's)
//	probe -url … file DATASTORE/PATH                    {"exists":…,"content":…}
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
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func snapshots(list []types.VirtualMachineSnapshotTree, out *[]string) {
	for _, s := range list {
		*out = append(*out, s.Name)
		snapshots(s.ChildSnapshotList, out)
	}
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
			if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.powerState", "config.hardware", "snapshot"}, &m); err != nil {
				log.Fatal(err)
			}
			names := []string{}
			if m.Snapshot != nil {
				snapshots(m.Snapshot.RootSnapshotList, &names)
			}
			serial := 0
			disks := []map[string]interface{}{}
			nics := []map[string]interface{}{}
			for _, d := range m.Config.Hardware.Device {
				switch dev := d.(type) {
				case *types.VirtualSerialPort:
					serial++
				case *types.VirtualDisk:
					disks = append(disks, map[string]interface{}{"key": dev.Key, "capacity_kb": dev.CapacityInKB})
				default:
					if card, ok := d.(types.BaseVirtualEthernetCard); ok {
						c := card.GetVirtualEthernetCard()
						connected := c.Connectable != nil && c.Connectable.Connected
						nics = append(nics, map[string]interface{}{"key": c.Key, "connected": connected})
					}
				}
			}
			out = map[string]interface{}{
				"exists": true, "path": vm.InventoryPath, "power_state": m.Runtime.PowerState,
				"snapshots": names, "cpus": m.Config.Hardware.NumCPU, "memory_mb": m.Config.Hardware.MemoryMB,
				"disks": disks, "nics": nics, "serial_ports": serial,
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
