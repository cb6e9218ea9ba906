package deploycheck

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Limits are what the manifests are checked against.
type Limits struct {
	// MaxReplicas is the partition count of the consumed topics: replicas of
	// a consumer group beyond it get no partition and sit idle.
	MaxReplicas int32
	// LagMetric is the External metric the autoscalers scale on.
	LagMetric string
}

// Check holds the manifests to the invariants and returns every violation,
// joined, or nil.
func (m *Manifests) Check(lim Limits) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(m.Deployments) == 0 {
		fail("no Deployment rendered")
	}
	for i := range m.Deployments {
		d := &m.Deployments[i]
		m.checkDeployment(d, fail)
	}
	m.checkAutoscalers(lim, fail)
	return errors.Join(errs...)
}

type failFunc func(format string, args ...any)

func (m *Manifests) checkDeployment(d *appsv1.Deployment, fail failFunc) {
	name := "Deployment " + d.Name
	pod := &d.Spec.Template
	if d.Spec.Selector == nil {
		fail("%s: no selector", name)
		return
	}
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		fail("%s: selector does not match its pod template", name)
	}
	if len(pod.Spec.Containers) == 0 {
		fail("%s: no container", name)
		return
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cname := name + " container " + c.Name
		checkContainer(cname, pod, c, fail)
		m.checkEnv(cname, c, fail)
	}
	c := &pod.Spec.Containers[0]
	port, ok := httpPort(c)
	if !ok {
		fail("%s: container %s has no port named http", name, c.Name)
		return
	}
	if got := pod.Annotations["prometheus.io/scrape"]; got != "true" {
		fail("%s: prometheus.io/scrape is %q, want \"true\"", name, got)
	}
	if got := pod.Annotations["prometheus.io/port"]; got != strconv.Itoa(int(port.ContainerPort)) {
		fail("%s: prometheus.io/port is %q, want %d", name, got, port.ContainerPort)
	}
	if got := pod.Annotations["prometheus.io/path"]; got != "/metrics" {
		fail("%s: prometheus.io/path is %q, want /metrics", name, got)
	}
	m.checkService(d, port, fail)
	m.checkPDB(d, fail)
}

// httpPort is the container's port named http, the one every service serves
// its API, probes and metrics on.
func httpPort(c *corev1.Container) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if p.Name == "http" {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// portIs tells whether a probe's or Service's port means the container port p.
func portIs(v intstr.IntOrString, p corev1.ContainerPort) bool {
	if v.Type == intstr.String {
		return v.StrVal == p.Name
	}
	return v.IntVal == p.ContainerPort
}

func checkContainer(name string, pod *corev1.PodTemplateSpec, c *corev1.Container, fail failFunc) {
	port, ok := httpPort(c)
	if !ok {
		fail("%s: no port named http", name)
	}
	probe := func(kind string, p *corev1.Probe, path string) {
		switch {
		case p == nil || p.HTTPGet == nil:
			fail("%s: no HTTP %s probe", name, kind)
		case p.HTTPGet.Path != path:
			fail("%s: %s probe on %s, want %s", name, kind, p.HTTPGet.Path, path)
		case ok && !portIs(p.HTTPGet.Port, port):
			fail("%s: %s probe on port %s, want the container port %d", name, kind, p.HTTPGet.Port.String(), port.ContainerPort)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

	if ok {
		for _, e := range c.Env {
			if strings.HasSuffix(e.Name, "_HTTP_ADDR") && e.Value != ":"+strconv.Itoa(int(port.ContainerPort)) {
				fail("%s: %s=%q, want \":%d\"", name, e.Name, e.Value, port.ContainerPort)
			}
		}
	}

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			fail("%s: no %s request", name, r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			fail("%s: no %s limit", name, r)
		}
	}

	checkNonRoot(name, pod.Spec.SecurityContext, c.SecurityContext, fail)
}

// checkNonRoot holds the container to the restricted Pod Security Standard:
// not root (the container's settings override the pod's), read-only root
// filesystem, no privilege escalation, no capabilities.
func checkNonRoot(name string, pod *corev1.PodSecurityContext, sc *corev1.SecurityContext, fail failFunc) {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if sc == nil {
		fail("%s: no securityContext", name)
		return
	}
	nonRoot, user := pod.RunAsNonRoot, pod.RunAsUser
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	if sc.RunAsUser != nil {
		user = sc.RunAsUser
	}
	if nonRoot == nil || !*nonRoot {
		fail("%s: runAsNonRoot is not true", name)
	}
	if user != nil && *user == 0 {
		fail("%s: runs as uid 0", name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		fail("%s: privileged", name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("%s: allowPrivilegeEscalation is not false", name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		fail("%s: readOnlyRootFilesystem is not true", name)
	}
	dropsAll := false
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Drop {
			dropsAll = dropsAll || c == "ALL"
		}
		if len(sc.Capabilities.Add) > 0 {
			fail("%s: adds capabilities %v", name, sc.Capabilities.Add)
		}
	}
	if !dropsAll {
		fail("%s: does not drop ALL capabilities", name)
	}
}

// checkEnv makes sure every value taken from a ConfigMap or a Secret names
// one that is rendered with it and a key that it has: otherwise the pod
// would not start (CreateContainerConfigError).
func (m *Manifests) checkEnv(name string, c *corev1.Container, fail failFunc) {
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			if !m.configMapHas(ref.Name, ref.Key) {
				fail("%s: %s refers to ConfigMap %s key %s, which is not rendered", name, e.Name, ref.Name, ref.Key)
			}
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			if !m.secretHas(ref.Name, ref.Key) {
				fail("%s: %s refers to Secret %s key %s, which is not rendered", name, e.Name, ref.Name, ref.Key)
			}
		}
	}
	for _, ef := range c.EnvFrom {
		if ref := ef.ConfigMapRef; ref != nil && !m.configMapHas(ref.Name, "") {
			fail("%s: envFrom ConfigMap %s is not rendered", name, ref.Name)
		}
		if ref := ef.SecretRef; ref != nil && !m.secretHas(ref.Name, "") {
			fail("%s: envFrom Secret %s is not rendered", name, ref.Name)
		}
	}
}

// configMapHas tells whether ConfigMap name is rendered with key (any key if
// key is empty).
func (m *Manifests) configMapHas(name, key string) bool {
	for _, cm := range m.ConfigMaps {
		if cm.Name != name {
			continue
		}
		_, inData := cm.Data[key]
		_, inBinary := cm.BinaryData[key]
		return key == "" || inData || inBinary
	}
	return false
}

func (m *Manifests) secretHas(name, key string) bool {
	for _, s := range m.Secrets {
		if s.Name != name {
			continue
		}
		_, inData := s.Data[key]
		_, inString := s.StringData[key]
		return key == "" || inData || inString
	}
	return false
}

// checkService wants a Service of the Deployment's name that selects its
// pods and forwards to the http port.
func (m *Manifests) checkService(d *appsv1.Deployment, port corev1.ContainerPort, fail failFunc) {
	for _, s := range m.Services {
		if s.Name != d.Name {
			continue
		}
		if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			fail("Service %s: type %s, want ClusterIP", s.Name, s.Spec.Type)
		}
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			fail("Service %s: selector does not match the pods of Deployment %s", s.Name, d.Name)
		}
		forwards := false
		for _, p := range s.Spec.Ports {
			forwards = forwards || portIs(p.TargetPort, port)
		}
		if !forwards {
			fail("Service %s: no port targets container port %d", s.Name, port.ContainerPort)
		}
		return
	}
	fail("Deployment %s: no Service of that name", d.Name)
}

// checkPDB wants a PodDisruptionBudget that selects the Deployment's pods
// and keeps at least one of them.
func (m *Manifests) checkPDB(d *appsv1.Deployment, fail failFunc) {
	for _, p := range m.PDBs {
		if p.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() < 1 {
			fail("PodDisruptionBudget %s: minAvailable is not at least 1", p.Name)
		}
		return
	}
	fail("Deployment %s: no PodDisruptionBudget selects its pods", d.Name)
}

// checkAutoscalers wants every HPA to scale an existing Deployment on the
// lag metric, within the partition count.
func (m *Manifests) checkAutoscalers(lim Limits, fail failFunc) {
	for _, h := range m.Autoscalers {
		name := "HorizontalPodAutoscaler " + h.Name
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != appsv1.SchemeGroupVersion.String() || !m.hasDeployment(ref.Name) {
			fail("%s: target %s %s %s is not a rendered Deployment", name, ref.APIVersion, ref.Kind, ref.Name)
		}
		if h.Spec.MaxReplicas > lim.MaxReplicas {
			fail("%s: maxReplicas %d is more than the %d partitions a consumer group can use", name, h.Spec.MaxReplicas, lim.MaxReplicas)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			fail("%s: minReplicas must be at least 2 and at most maxReplicas", name)
		}
		onLag := false
		for _, mt := range h.Spec.Metrics {
			onLag = onLag || (mt.External != nil && mt.External.Metric.Name == lim.LagMetric)
		}
		if !onLag {
			fail("%s: does not scale on the External metric %s", name, lim.LagMetric)
		}
	}
}

func (m *Manifests) hasDeployment(name string) bool {
	for _, d := range m.Deployments {
		if d.Name == name {
			return true
		}
	}
	return false
}
