// Command kubectl is Kubernetes' client at the API server's own release, for paved's tests
// (scripts/kube-up builds it beside kube-apiserver). Test infrastructure only.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
