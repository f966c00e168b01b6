package k8stest

import (
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The server's side of cluster mode (CONFIG.md "Cluster mode") as the chart must implement it.
const (
	peerPort = 7703
	// What containerEnv records for a variable set from the downward API.
	fieldRefPrefix = "fieldRef:"
)

// clusterVars are the server's cluster-mode variables: set exactly when the chart runs in
// cluster mode.
var clusterVars = []string{"TAU_INITIAL_CLUSTER", "TAU_NODE_NAME", "TAU_PEER_ADDRESS", "TAU_REQUEST_TIMEOUT", "TAU_CLUSTER_SNAPSHOT_ENTRIES"}

// clusterMembers is the replicaCount a render case sets (1 by default).
func clusterMembers(rc renderCase) int {
	if v := setValue(rc, "replicaCount"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(err)
		}
		return n
	}
	return 1
}

// clusterMode: replicaCount 3 or 5, or cluster.enabled.
func clusterMode(rc renderCase) bool {
	return clusterMembers(rc) > 1 || setValue(rc, "cluster.enabled") == "true"
}

// clusterOff reports whether name is a cluster variable the render case has no reason to set.
func clusterOff(rc renderCase, name string) bool {
	return slices.Contains(clusterVars, name) && !clusterMode(rc)
}

// peerAddresses parses TAU_INITIAL_CLUSTER into names and host:port, in order.
func peerAddresses(t *testing.T, v string) (names, addrs []string) {
	t.Helper()
	for _, entry := range strings.Split(v, ",") {
		name, addr, ok := strings.Cut(entry, "=")
		if !ok || name == "" {
			t.Fatalf("TAU_INITIAL_CLUSTER entry %q: want name=host:port", entry)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("TAU_INITIAL_CLUSTER entry %q: %v", entry, err)
		}
		names, addrs = append(names, name), append(addrs, addr)
	}
	return names, addrs
}

// checkCluster: in cluster mode every member names all founding members by their stable
// names under the headless Service, its own name from the pod, and listens for peers on the
// port the headless Service and the container declare; the pods start in parallel, spread
// over nodes, and a drain cannot take a majority. Otherwise nothing of it is rendered.
func checkCluster(t *testing.T, objs *objects, sts *appsv1.StatefulSet, env map[string]string, rc renderCase) {
	c := sts.Spec.Template.Spec.Containers[0]
	if !clusterMode(rc) {
		for _, v := range clusterVars {
			if _, ok := env[v]; ok {
				t.Errorf("%s set with replicaCount %d", v, clusterMembers(rc))
			}
		}
		if containerPort(c, "peer") != nil {
			t.Error("a peer port without cluster mode")
		}
		if sts.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement {
			t.Errorf("podManagementPolicy %s without cluster mode: a single node's StatefulSet is OrderedReady, as it always was", sts.Spec.PodManagementPolicy)
		}
		if a := sts.Spec.Template.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			t.Error("a pod anti-affinity without cluster mode")
		}
		return
	}
	n := clusterMembers(rc)
	if sts.Spec.Replicas == nil || int(*sts.Spec.Replicas) != n {
		t.Errorf("replicas %v, want %d", sts.Spec.Replicas, n)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %s, want Parallel: with OrderedReady pod 1 waits for pod 0 to be ready, which waits for a leader, which needs pod 1", sts.Spec.PodManagementPolicy)
	}
	if env["TAU_FSYNC"] != "always" {
		t.Errorf("TAU_FSYNC=%q in cluster mode, want always", env["TAU_FSYNC"])
	}
	if env["TAU_NODE_NAME"] != fieldRefPrefix+"metadata.name" {
		t.Errorf("TAU_NODE_NAME=%q, want the pod's name (fieldRef metadata.name)", env["TAU_NODE_NAME"])
	}
	if _, err := time.ParseDuration(env["TAU_REQUEST_TIMEOUT"]); err != nil {
		t.Errorf("TAU_REQUEST_TIMEOUT=%q: %v", env["TAU_REQUEST_TIMEOUT"], err)
	}
	checkAddress(t, c, env, "TAU_PEER_ADDRESS", "peer", peerPort)

	// Every founding member is a pod of this StatefulSet, named as its host name is, at its
	// DNS name under the headless Service, on the peer port.
	domain := setValue(rc, "clusterDomain")
	if domain == "" {
		domain = "cluster.local"
	}
	names, addrs := peerAddresses(t, env["TAU_INITIAL_CLUSTER"])
	if len(names) != n {
		t.Errorf("TAU_INITIAL_CLUSTER names %d members, want replicaCount %d", len(names), n)
	}
	for i, name := range names {
		pod := fmt.Sprintf("%s-%d", sts.Name, i)
		want := fmt.Sprintf("%s.%s.%s.svc.%s:%d", pod, sts.Spec.ServiceName, testNamespace, domain, peerPort)
		if name != pod || addrs[i] != want {
			t.Errorf("TAU_INITIAL_CLUSTER entry %d is %s=%s, want %s=%s", i, name, addrs[i], pod, want)
		}
	}

	headless := one[*corev1.Service](t, objs, func(s *corev1.Service) bool { return s.Name == sts.Spec.ServiceName })
	if !headless.Spec.PublishNotReadyAddresses {
		t.Error("the headless Service must publish not-ready addresses: the members find each other before any is ready")
	}

	t.Run("AntiAffinity", func(t *testing.T) {
		a := sts.Spec.Template.Spec.Affinity
		if a == nil || a.PodAntiAffinity == nil {
			t.Fatal("no pod anti-affinity: the members could share a node")
		}
		var terms []corev1.PodAffinityTerm
		hard := setValue(rc, "cluster.antiAffinity") == "hard"
		if hard {
			terms = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
			if len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Error("cluster.antiAffinity=hard: a preferred term too")
			}
		} else {
			for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				terms = append(terms, w.PodAffinityTerm)
			}
			if len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Error("the default anti-affinity is required: it must only be preferred (soft)")
			}
		}
		if len(terms) != 1 {
			t.Fatalf("want one anti-affinity term (hard=%v), got %s", hard, toYAML(a.PodAntiAffinity))
		}
		term := terms[0]
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if term.TopologyKey != "kubernetes.io/hostname" || err != nil || !sel.Matches(labels.Set(sts.Spec.Template.Labels)) ||
			!labels.Equals(term.LabelSelector.MatchLabels, sts.Spec.Selector.MatchLabels) {
			t.Errorf("anti-affinity term %s: want kubernetes.io/hostname and the release's selector labels", toYAML(term))
		}
	})

	t.Run("PodDisruptionBudget", func(t *testing.T) {
		if n < 3 {
			return
		}
		pdb := one[*policyv1.PodDisruptionBudget](t, objs, nil)
		majority := n/2 + 1
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			if got := pdb.Spec.MaxUnavailable.IntValue(); got != 1 {
				t.Errorf("PodDisruptionBudget maxUnavailable %s, want 1 (the default)", pdb.Spec.MaxUnavailable.String())
			}
		case pdb.Spec.MinAvailable != nil:
			if pdb.Spec.MinAvailable.IntValue() < majority {
				t.Errorf("PodDisruptionBudget minAvailable %s lets a drain take a majority of %d", pdb.Spec.MinAvailable.String(), n)
			}
		}
	})

	t.Run("NetworkPolicy", func(t *testing.T) {
		for _, np := range only[*networkingv1.NetworkPolicy](objs) {
			checkPeerRule(t, np, sts, one[*corev1.Pod](t, objs, nil))
		}
	})

	t.Run("PeerNamesInCertificate", func(t *testing.T) {
		certs := only[*Certificate](objs)
		if len(certs) == 0 {
			return
		}
		for _, addr := range addrs {
			host, _, _ := net.SplitHostPort(addr)
			if !slices.ContainsFunc(certs[0].Spec.DNSNames, func(dns string) bool { return dnsMatch(dns, host) }) {
				t.Errorf("the Certificate's dnsNames %v do not cover the peer %s: mutual TLS between members would fail", certs[0].Spec.DNSNames, host)
			}
		}
	})
}

// checkPeerRule: exactly one ingress rule opens the peer port, and only to the release's own
// pods (not the test pod, not another namespace, not an address block).
func checkPeerRule(t *testing.T, np *networkingv1.NetworkPolicy, sts *appsv1.StatefulSet, test *corev1.Pod) {
	t.Helper()
	var rules []networkingv1.NetworkPolicyIngressRule
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Errorf("NetworkPolicy rule without ports: it opens the peer port too: %s", toYAML(rule))
		}
		if slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && (p.Port.StrVal == "peer" || p.Port.IntVal == peerPort)
		}) {
			rules = append(rules, rule)
		}
	}
	if len(rules) != 1 {
		t.Fatalf("want one NetworkPolicy rule for the peer port, got %d", len(rules))
	}
	rule := rules[0]
	if len(rule.Ports) != 1 || len(rule.From) != 1 {
		t.Fatalf("peer rule %s: want the peer port alone, from one peer", toYAML(rule))
	}
	from := rule.From[0]
	if from.PodSelector == nil || from.NamespaceSelector != nil || from.IPBlock != nil ||
		!labels.Equals(from.PodSelector.MatchLabels, sts.Spec.Selector.MatchLabels) || len(from.PodSelector.MatchExpressions) != 0 {
		t.Errorf("peer rule admits %s, want only the release's pods (podSelector %v)", toYAML(from), sts.Spec.Selector.MatchLabels)
	}
	if sel, _ := metav1.LabelSelectorAsSelector(from.PodSelector); sel.Matches(labels.Set(test.Labels)) {
		t.Error("the peer rule admits the helm test pod")
	}
}

// dnsMatch matches a host against a certificate name, "*." matching one label.
func dnsMatch(pattern, host string) bool {
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		label, domain, found := strings.Cut(host, ".")
		return found && label != "" && domain == rest
	}
	return pattern == host
}

// TestClusterInitialCluster: TAU_INITIAL_CLUSTER, TAU_PEER_ADDRESS and TAU_NODE_NAME exactly,
// as the server reads them (CONFIG.md "Cluster mode").
func TestClusterInitialCluster(t *testing.T) {
	members := func(release string, n, port int, domain string) string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%[1]s-%[2]d=%[1]s-%[2]d.%[1]s-headless.tau-test.svc.%[3]s:%[4]d", release, i, domain, port))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name, release string
		sets          []string
		replicas      int32
		want, peer    string
	}{
		{"three", "tau", []string{"replicaCount=3"}, 3,
			"tau-0=tau-0.tau-headless.tau-test.svc.cluster.local:7703," +
				"tau-1=tau-1.tau-headless.tau-test.svc.cluster.local:7703," +
				"tau-2=tau-2.tau-headless.tau-test.svc.cluster.local:7703", "0.0.0.0:7703"},
		{"five, another release", "prod", []string{"replicaCount=5"}, 5,
			"prod-tau-0=prod-tau-0.prod-tau-headless.tau-test.svc.cluster.local:7703," +
				"prod-tau-1=prod-tau-1.prod-tau-headless.tau-test.svc.cluster.local:7703," +
				"prod-tau-2=prod-tau-2.prod-tau-headless.tau-test.svc.cluster.local:7703," +
				"prod-tau-3=prod-tau-3.prod-tau-headless.tau-test.svc.cluster.local:7703," +
				"prod-tau-4=prod-tau-4.prod-tau-headless.tau-test.svc.cluster.local:7703", "0.0.0.0:7703"},
		{"domain and port", "tau", []string{"replicaCount=3", "clusterDomain=k8s.example.org", "cluster.peerPort=7800"}, 3,
			members("tau", 3, 7800, "k8s.example.org"), "0.0.0.0:7800"},
		{"IPv6 listen host", "tau", []string{"replicaCount=3", "config.listenHost=[::]"}, 3,
			members("tau", 3, 7703, "cluster.local"), "[::]:7703"},
		// Scaled up from 3: the founders stay the same, tau-3 and tau-4 start as joiners.
		{"five founded by three", "tau", []string{"replicaCount=5", "cluster.initialMembers=3"}, 5,
			members("tau", 3, 7703, "cluster.local"), "0.0.0.0:7703"},
		// A cluster scaled to zero keeps its founders.
		{"scaled to zero", "tau", []string{"cluster.enabled=true", "replicaCount=0", "cluster.initialMembers=3"}, 0,
			members("tau", 3, 7703, "cluster.local"), "0.0.0.0:7703"},
		{"one member", "tau", []string{"cluster.enabled=true"}, 1,
			"tau-0=tau-0.tau-headless.tau-test.svc.cluster.local:7703", "0.0.0.0:7703"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := decodeAll(t, helmTemplate(t, tc.release, nil, append([]string{generate}, tc.sets...)...))
			sts := one[*appsv1.StatefulSet](t, objs, nil)
			env := containerEnv(t, objs, sts.Spec.Template.Spec.Containers[0])
			if got := env["TAU_INITIAL_CLUSTER"]; got != tc.want {
				t.Errorf("TAU_INITIAL_CLUSTER=\n  %s\nwant\n  %s", got, tc.want)
			}
			if got := env["TAU_PEER_ADDRESS"]; got != tc.peer {
				t.Errorf("TAU_PEER_ADDRESS=%q, want %q", got, tc.peer)
			}
			if got := env["TAU_NODE_NAME"]; got != fieldRefPrefix+"metadata.name" {
				t.Errorf("TAU_NODE_NAME=%q, want the pod's name", got)
			}
			if got := env["TAU_REQUEST_TIMEOUT"]; got != "5s" {
				t.Errorf("TAU_REQUEST_TIMEOUT=%q, want the server's default 5s", got)
			}
			if sts.Spec.Replicas == nil || *sts.Spec.Replicas != tc.replicas || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
				t.Errorf("replicas %v, podManagementPolicy %s: want %d, Parallel", sts.Spec.Replicas, sts.Spec.PodManagementPolicy, tc.replicas)
			}
		})
	}
}

// TestClusterImmutableFields: an upgrade may change a StatefulSet's replicas and template,
// nothing else of its spec. From one node to a cluster only podManagementPolicy changes (the
// orphan delete the chart's README describes); between 3, 5 and a cluster scaled to zero
// nothing immutable changes, nor TAU_INITIAL_CLUSTER when initialMembers holds the founders.
func TestClusterImmutableFields(t *testing.T) {
	type rendered struct {
		initial     string
		policy      appsv1.PodManagementPolicyType
		immutableSp appsv1.StatefulSetSpec
	}
	render := func(sets ...string) rendered {
		objs := decodeAll(t, helmTemplate(t, "tau", nil, append([]string{generate}, sets...)...))
		sts := one[*appsv1.StatefulSet](t, objs, nil)
		spec := *sts.Spec.DeepCopy()
		spec.Replicas, spec.Template, spec.UpdateStrategy = nil, corev1.PodTemplateSpec{}, appsv1.StatefulSetUpdateStrategy{}
		spec.PersistentVolumeClaimRetentionPolicy, spec.MinReadySeconds, spec.Ordinals = nil, 0, nil
		return rendered{containerEnv(t, objs, sts.Spec.Template.Spec.Containers[0])["TAU_INITIAL_CLUSTER"], spec.PodManagementPolicy, spec}
	}
	single := render()
	three := render("replicaCount=3")
	if single.policy == three.policy {
		t.Errorf("one node and three share podManagementPolicy %s", single.policy)
	}
	singleSpec := single.immutableSp
	singleSpec.PodManagementPolicy = three.policy
	if d := cmp.Diff(singleSpec, three.immutableSp); d != "" {
		t.Errorf("one node to three changes more than podManagementPolicy (-1 +3):\n%s", d)
	}
	for _, sets := range [][]string{
		{"replicaCount=5", "cluster.initialMembers=3"},
		{"replicaCount=0", "cluster.enabled=true", "cluster.initialMembers=3"},
		{"replicaCount=3", "cluster.initialMembers=3"},
	} {
		other := render(sets...)
		if d := cmp.Diff(three.immutableSp, other.immutableSp); d != "" {
			t.Errorf("--set %s changes an immutable field of the 3-member StatefulSet:\n%s", strings.Join(sets, ","), d)
		}
		if other.initial != three.initial {
			t.Errorf("--set %s: TAU_INITIAL_CLUSTER %q, the founders were %q", strings.Join(sets, ","), other.initial, three.initial)
		}
	}
}

// TestClusterValuesRejected: replica counts with no majority to spare, fsync=interval in
// cluster mode (CONFIG.md: the server refuses it), a PodDisruptionBudget that lets a drain
// take a majority, and founders without pods are refused at render, naming the value.
func TestClusterValuesRejected(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, tc := range []struct {
		name, set, want string
	}{
		{"two replicas", "replicaCount=2", "replicaCount"},
		{"four replicas", "replicaCount=4", "replicaCount"},
		{"seven replicas", "replicaCount=7", "replicaCount"},
		{"fsync interval with 3", "replicaCount=3,config.fsync=interval", "config.fsync=interval with replicaCount 3"},
		{"fsync interval with 5", "replicaCount=5,config.fsync=interval", "config.fsync=interval with replicaCount 5"},
		{"fsync interval with one member", "cluster.enabled=true,config.fsync=interval", "config.fsync=interval"},
		{"pdb lets a drain take 2 of 3", "replicaCount=3,podDisruptionBudget.maxUnavailable=2", "majority"},
		{"pdb lets a drain take 3 of 5", "replicaCount=5,podDisruptionBudget.maxUnavailable=3", "majority"},
		{"pdb minAvailable below a majority", "replicaCount=3,podDisruptionBudget.maxUnavailable=,podDisruptionBudget.minAvailable=1", "majority"},
		{"pdb as a percentage", "replicaCount=3,podDisruptionBudget.maxUnavailable=50%", "percentage"},
		{"pdb without a bound", "replicaCount=3,podDisruptionBudget.maxUnavailable=", "set one of"},
		{"more founders than pods", "replicaCount=3,cluster.initialMembers=5", "cluster.initialMembers"},
		{"even founders", "replicaCount=5,cluster.initialMembers=2", "initialMembers"},
		{"scaled to zero without founders", "cluster.enabled=true,replicaCount=0", "cluster.initialMembers"},
		{"peer port on the TAU port", "replicaCount=3,cluster.peerPort=7701", "cluster.peerPort"},
		{"unknown anti-affinity", "replicaCount=3,cluster.antiAffinity=none", "antiAffinity"},
		{"bad request timeout", "replicaCount=3,cluster.requestTimeout=5", "requestTimeout"},
		{"bad cluster domain", "clusterDomain=Cluster_Local", "clusterDomain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runErr(helm, "template", "tau", chartDir, "--set", generate, "--set", tc.set)
			if err == nil {
				t.Fatalf("--set %s rendered:\n%.400s", tc.set, out)
			}
			if !strings.Contains(string(stderr), tc.want) {
				t.Errorf("--set %s: error does not mention %q:\n%s", tc.set, tc.want, stderr)
			}
		})
	}
	// What stays allowed: scale to zero, one node with fsync=interval, 2 of 5 away at once.
	for _, set := range []string{"replicaCount=0", "config.fsync=interval", "replicaCount=5,podDisruptionBudget.maxUnavailable=2",
		"replicaCount=3,podDisruptionBudget.maxUnavailable=,podDisruptionBudget.minAvailable=2", "replicaCount=3,cluster.initialMembers=1"} {
		decodeAll(t, helmTemplate(t, "tau", nil, generate, set))
	}
}

// TestClusterAffinity: the values' own podAntiAffinity replaces the chart's; other affinity
// from the values is kept beside the chart's.
func TestClusterAffinity(t *testing.T) {
	affinity := func(sets ...string) *corev1.Affinity {
		objs := decodeAll(t, helmTemplate(t, "tau", nil, append([]string{generate, "replicaCount=3"}, sets...)...))
		return one[*appsv1.StatefulSet](t, objs, nil).Spec.Template.Spec.Affinity
	}
	own := affinity("affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey=topology.kubernetes.io/zone",
		"affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels.app=x")
	if terms := own.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution; len(terms) != 1 ||
		terms[0].TopologyKey != "topology.kubernetes.io/zone" || len(own.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Errorf("the values' podAntiAffinity was not used as it is: %s", toYAML(own))
	}
	node := affinity("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=disk",
		"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists")
	if node.NodeAffinity == nil || node.PodAntiAffinity == nil || len(node.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("nodeAffinity from the values and the chart's anti-affinity should both be there: %s", toYAML(node))
	}
}

// TestClusterDocsLinks: the chart's NOTES and README point at docs/cluster-kubernetes.md,
// which exists.
func TestClusterDocsLinks(t *testing.T) {
	doc := path.Join(repoRoot, "docs", "cluster-kubernetes.md")
	if _, err := os.ReadFile(doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path.Join(chartDir, "templates", "NOTES.txt"), path.Join(chartDir, "README.md")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "docs/cluster-kubernetes.md") {
			t.Errorf("%s does not point at docs/cluster-kubernetes.md", f)
		}
	}
}
