package deploycheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/orderflow/orderflow/schema"
	"github.com/orderflow/orderflow/tools/deploycheck"
)

// k8sDir is deploy/k8s, seen from this package's folder (go test runs here).
const k8sDir = "../../deploy/k8s"

const lagMetric = "orderflow_consumer_lag_messages"

// services are the five processes, each with its HTTP port.
var services = map[string]int32{
	"gateway": 8080, "order": 8081, "payment": 8082, "paymentgateway": 8083, "compensation": 8084,
}

func TestManifestsRenderAndHold(t *testing.T) {
	lim := deploycheck.Limits{MaxReplicas: eventPartitions(t), LagMetric: lagMetric}
	tests := []struct {
		dir       string
		namespace string
		tag       string
		gateways  int32 // the gateway's starting replicas
	}{
		{dir: "base", namespace: "", tag: "latest", gateways: 2},
		{dir: "overlays/example", namespace: "orderflow", tag: "0.1.0", gateways: 3},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			abs, err := filepath.Abs(filepath.Join(k8sDir, tt.dir))
			require.NoError(t, err)
			m, err := deploycheck.Render(filesys.MakeFsOnDisk(), abs)
			require.NoError(t, err)
			require.NoError(t, m.Check(lim))

			require.Len(t, m.Deployments, len(services))
			require.Len(t, m.Services, len(services))
			require.Len(t, m.PDBs, len(services))
			scaled := map[string]bool{}
			for _, h := range m.Autoscalers {
				scaled[h.Spec.ScaleTargetRef.Name] = true
			}
			require.Equal(t, map[string]bool{"gateway": true, "order": true, "payment": true, "compensation": true}, scaled,
				"every Kafka consumer autoscales; paymentgateway (the simulated PSP) does not")

			for _, d := range m.Deployments {
				port, ok := services[d.Name]
				require.True(t, ok, "unexpected Deployment %s", d.Name)
				c := d.Spec.Template.Spec.Containers[0]
				require.Equal(t, "orderflow/"+d.Name+":"+tt.tag, c.Image)
				require.Equal(t, port, c.Ports[0].ContainerPort)
				require.Equal(t, "orderflow", d.Spec.Template.Labels["app.kubernetes.io/part-of"])
				require.NotNil(t, d.Spec.Replicas)
				switch d.Name {
				case "paymentgateway":
					require.EqualValues(t, 1, *d.Spec.Replicas)
				case "gateway":
					require.Equal(t, tt.gateways, *d.Spec.Replicas)
				}
			}
			for _, s := range m.Secrets {
				require.Equal(t, "orderflow-secrets", s.Name)
			}
			require.Len(t, m.ConfigMaps, 1)
			require.Contains(t, m.ConfigMaps[0].Data["AUTH_JWKS"], "/.well-known/jwks.json")

			if tt.namespace != "" {
				require.Len(t, m.Namespaces, 1)
				require.Equal(t, tt.namespace, m.Namespaces[0].Name)
				for _, d := range m.Deployments {
					require.Equal(t, tt.namespace, d.Namespace, "Deployment %s", d.Name)
				}
				for _, h := range m.Autoscalers {
					require.Equal(t, tt.namespace, h.Namespace, "HorizontalPodAutoscaler %s", h.Name)
				}
			}
		})
	}
}

// TestTopicsAreTheScalingUnit ties the Strimzi example to the topics the
// services use: the autoscalers' ceiling is read from it.
func TestTopicsAreTheScalingUnit(t *testing.T) {
	got := topicPartitions(t)
	require.Equal(t, map[string]int32{
		schema.TopicOrder:        6,
		schema.TopicPayment:      6,
		schema.TopicCompensation: 6,
		schema.TopicDeadLetter:   3,
	}, got)
}

// TestCheckCatchesBrokenManifests breaks one thing at a time in a copy of
// deploy/k8s and expects the render or the check to name it.
func TestCheckCatchesBrokenManifests(t *testing.T) {
	lim := deploycheck.Limits{MaxReplicas: eventPartitions(t), LagMetric: lagMetric}
	tests := []struct {
		name    string
		file    string
		old     string
		new     string
		wantErr string
	}{
		{name: "misspelt field", file: "base/order.yaml",
			old: "readinessProbe:", new: "readinesProbe:", wantErr: `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{name: "field in the wrong case", file: "base/order.yaml",
			old: "containerPort:", new: "ContainerPort:", wantErr: "ContainerPort"},
		{name: "readiness on the liveness path", file: "base/payment.yaml",
			old: "path: /readyz", new: "path: /healthz", wantErr: "readiness probe on /healthz, want /readyz"},
		{name: "probe on another port", file: "base/compensation.yaml",
			old: "path: /healthz\n              port: http", new: "path: /healthz\n              port: 9090", wantErr: "liveness probe on port 9090"},
		{name: "more replicas than partitions", file: "base/payment.yaml",
			old: "maxReplicas: 6", new: "maxReplicas: 7", wantErr: "maxReplicas 7 is more than the 6 partitions"},
		{name: "autoscaler without a target", file: "base/order.yaml",
			old: "kind: Deployment\n    name: order", new: "kind: Deployment\n    name: orders", wantErr: "is not a rendered Deployment"},
		{name: "env key missing from the ConfigMap", file: "base/payment.yaml",
			old: "key: PSP_URL", new: "key: PSP_ADDR", wantErr: "ConfigMap orderflow-config key PSP_ADDR"},
		{name: "env key missing from the Secret", file: "base/secret.yaml",
			old: "  COMPENSATION_POSTGRES_DSN:", new: "  COMPENSATION_DSN:", wantErr: "Secret orderflow-secrets key COMPENSATION_POSTGRES_DSN"},
		{name: "root", file: "base/gateway.yaml",
			old: "runAsUser: 65534", new: "runAsUser: 0", wantErr: "runs as uid 0"},
		{name: "privilege escalation", file: "base/paymentgateway.yaml",
			old: "allowPrivilegeEscalation: false", new: "allowPrivilegeEscalation: true", wantErr: "allowPrivilegeEscalation is not false"},
		{name: "Service on the wrong pods", file: "base/order.yaml",
			old: "  selector:\n    app.kubernetes.io/name: order", new: "  selector:\n    app.kubernetes.io/name: payment", wantErr: "Service order: selector does not match"},
		{name: "no PodDisruptionBudget for the pods", file: "base/compensation.yaml",
			old: "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: compensation",
			new: "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nobody", wantErr: "Deployment compensation: no PodDisruptionBudget"},
		{name: "HTTP address off the container port", file: "base/gateway.yaml",
			old: `value: ":8080"`, new: `value: ":9999"`, wantErr: `GATEWAY_HTTP_ADDR=":9999"`},
		{name: "an overlay that breaks the base", file: "overlays/example/gateway-resources.yaml",
			old: "          resources:", new: "          securityContext:\n            runAsUser: 0\n          resources:", wantErr: "gateway: runs as uid 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := copyK8s(t)
			path := filepath.Join("/k8s", tt.file)
			data, err := fsys.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, 1, bytes.Count(data, []byte(tt.old)), "%q once in %s", tt.old, tt.file)
			require.NoError(t, fsys.WriteFile(path, bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1)))

			dir := "/k8s/base"
			if strings.HasPrefix(tt.file, "overlays/") {
				dir = "/k8s/overlays/example"
			}
			m, err := deploycheck.Render(fsys, dir)
			if err == nil {
				err = m.Check(lim)
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// copyK8s copies deploy/k8s into an in-memory file system under /k8s.
func copyK8s(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	err := filepath.WalkDir(k8sDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(k8sDir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fsys.WriteFile(filepath.Join("/k8s", rel), data)
	})
	require.NoError(t, err)
	return fsys
}

// kafkaTopic is the part of a Strimzi KafkaTopic that orderflow relies on;
// decoded strictly, so a misspelt field in the example fails too.
type kafkaTopic struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Partitions int32          `json:"partitions"`
		Replicas   int32          `json:"replicas"`
		Config     map[string]any `json:"config"`
	} `json:"spec"`
}

// topicPartitions reads deploy/k8s/backing/kafka-topics.yaml: topic name to
// partition count.
func topicPartitions(t *testing.T) map[string]int32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k8sDir, "backing", "kafka-topics.yaml"))
	require.NoError(t, err)
	got := map[string]int32{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var kt kafkaTopic
		require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &kt))
		require.Equal(t, "kafka.strimzi.io/v1beta2", kt.APIVersion)
		require.Equal(t, "KafkaTopic", kt.Kind)
		require.NotEmpty(t, kt.Metadata.Labels["strimzi.io/cluster"], kt.Metadata.Name)
		got[kt.Metadata.Name] = kt.Spec.Partitions
	}
	return got
}

// eventPartitions is the fewest partitions of the topics the services
// consume: the most replicas of a consumer group that all get work.
func eventPartitions(t *testing.T) int32 {
	t.Helper()
	p := topicPartitions(t)
	n := p[schema.TopicOrder]
	for _, topic := range []string{schema.TopicPayment, schema.TopicCompensation} {
		n = min(n, p[topic])
	}
	require.Positive(t, n)
	return n
}
