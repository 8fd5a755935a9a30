// Command etcd is etcd's server, built from its module at the release go.mod pins, for paved's
// tests (scripts/kube-up): a module of its own, so that etcd's dependencies do not meet the
// API server's. Test infrastructure only.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
