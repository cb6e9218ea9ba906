package deploycheck

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
)

// Manifests are the rendered resources, each in its typed struct.
type Manifests struct {
	Namespaces  []corev1.Namespace
	ConfigMaps  []corev1.ConfigMap
	Secrets     []corev1.Secret
	Deployments []appsv1.Deployment
	Services    []corev1.Service
	PDBs        []policyv1.PodDisruptionBudget
	Autoscalers []autoscalingv2.HorizontalPodAutoscaler
}

// add decodes one resource by its kind. A kind the deployment is not meant
// to hold is an error, so that a new kind comes with a decoder and a check.
func (m *Manifests) add(kind string, data []byte) error {
	var err error
	switch kind {
	case "Namespace":
		m.Namespaces, err = decodeInto(m.Namespaces, data, corev1.SchemeGroupVersion)
	case "ConfigMap":
		m.ConfigMaps, err = decodeInto(m.ConfigMaps, data, corev1.SchemeGroupVersion)
	case "Secret":
		m.Secrets, err = decodeInto(m.Secrets, data, corev1.SchemeGroupVersion)
	case "Deployment":
		m.Deployments, err = decodeInto(m.Deployments, data, appsv1.SchemeGroupVersion)
	case "Service":
		m.Services, err = decodeInto(m.Services, data, corev1.SchemeGroupVersion)
	case "PodDisruptionBudget":
		m.PDBs, err = decodeInto(m.PDBs, data, policyv1.SchemeGroupVersion)
	case "HorizontalPodAutoscaler":
		m.Autoscalers, err = decodeInto(m.Autoscalers, data, autoscalingv2.SchemeGroupVersion)
	default:
		err = fmt.Errorf("unexpected kind %q", kind)
	}
	return err
}

// typed is what every Kubernetes object struct has: its apiVersion.
type typed interface {
	GetObjectKind() schema.ObjectKind
}

// decodeInto decodes data strictly into a new T and appends it: a field the
// struct does not have, a field in the wrong case and a duplicate field all
// fail, as does an apiVersion other than want.
func decodeInto[T any, P interface {
	*T
	typed
}](list []T, data []byte, want schema.GroupVersion) ([]T, error) {
	var v T
	strict, err := kjson.UnmarshalStrict(data, &v)
	if err != nil {
		return list, fmt.Errorf("decode: %w", err)
	}
	if len(strict) > 0 {
		return list, fmt.Errorf("strict decode: %w", errors.Join(strict...))
	}
	if gv := P(&v).GetObjectKind().GroupVersionKind().GroupVersion(); gv != want {
		return list, fmt.Errorf("apiVersion %s, want %s", gv, want)
	}
	return append(list, v), nil
}
