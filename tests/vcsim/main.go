// vcsim for Portcullis's tests: govmomi's vCenter simulator (simulator.VPX)
// over TLS on a loopback port, built from Debian's packages by
// scripts/setup-vcsim.sh. Prints one line, "VCSIM_URL=https://...", once it
// listens, and writes the server's certificate (PEM) to -cert so clients can
// verify TLS instead of switching it off.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	// Registers the Automation API (/rest: tagging) with RegisterEndpoints.
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// A P-256 certificate for 127.0.0.1 and localhost: httptest's built-in one
// is RSA-1024, which rustls (rightly) refuses.
func certificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: false,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address:port to listen on")
	certFile := flag.String("cert", "", "write the server certificate (PEM) here")
	machines := flag.Int("vms", 2, "virtual machines per host and per cluster resource pool")
	datastores := flag.Int("ds", 1, "datastores (LocalDS_0, LocalDS_1, ...)")
	clusters := flag.Int("clusters", 1, "clusters of three hosts, besides the standalone host (0: one host in all)")
	flag.Parse()

	model := simulator.VPX()
	model.Machine = *machines
	model.Datastore = *datastores
	model.Cluster = *clusters
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{certificate()}}
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen}
	server := model.Service.NewServer()
	defer server.Close()

	if *certFile != "" {
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
		if err := ioutil.WriteFile(*certFile, block, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	u := *server.URL
	u.User = nil
	fmt.Printf("VCSIM_URL=%s\n", u.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
