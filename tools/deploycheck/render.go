// Package deploycheck renders orderflow's Kubernetes manifests (deploy/k8s)
// with kustomize and checks them without a cluster or a schema registry:
// every resource is decoded strictly into its typed Kubernetes struct, so
// that a misspelt or unknown field fails, and then held to the invariants the
// services need (probes on the right paths and ports, a Service and a
// PodDisruptionBudget per Deployment, autoscalers within the partition count,
// env references that resolve, no container that may run as root).
package deploycheck

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Render builds the kustomization in dir of fsys (as `kubectl kustomize dir`
// would) and decodes every resulting resource strictly.
func Render(fsys filesys.FileSystem, dir string) (*Manifests, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	m := &Manifests{}
	for _, r := range rm.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", r.CurId(), err)
		}
		if err := m.add(r.GetKind(), data); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
	}
	return m, nil
}
