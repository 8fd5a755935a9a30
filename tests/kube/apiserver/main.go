// Command kube-apiserver is Kubernetes' API server, built from the Kubernetes module at the
// release go.mod pins, for paved's tests (scripts/kube-up). Test infrastructure only.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
