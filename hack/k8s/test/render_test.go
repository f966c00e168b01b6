package k8stest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Paths from this package's directory (hack/k8s/test).
var (
	repoRoot  = filepath.Join("..", "..", "..")
	chartDir  = filepath.Join(repoRoot, "charts", "tau")
	deployDir = filepath.Join(repoRoot, "deploy")
)

// tool finds a binary: $ENV if set, else ./.tools/bin/NAME, else $PATH.
func tool(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", name)); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: set %s or run `make k8s-tools`", name, env)
	return ""
}

// run runs a command and returns its stdout; a non-zero exit fails the test with stderr.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, stderr, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr)
	}
	return out
}

func runErr(name string, args ...string) (stdout, stderr []byte, err error) {
	var o, e bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// helmTemplate renders the chart (tests included) with the given values files and --set flags.
func helmTemplate(t testing.TB, release string, valuesFiles []string, sets ...string) []byte {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", testNamespace}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return run(t, tool(t, "HELM", "helm"), args...)
}

// kustomizeBuild renders deploy/ with `kustomize build` ($KUSTOMIZE) or `kubectl kustomize`.
func kustomizeBuild(t testing.TB, dir string) []byte {
	t.Helper()
	if k := os.Getenv("KUSTOMIZE"); k != "" {
		return run(t, k, "build", dir)
	}
	if p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "kustomize")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return run(t, p, "build", dir)
		}
	}
	return run(t, tool(t, "KUBECTL", "kubectl"), "kustomize", dir)
}

const testNamespace = "tau-test"

var scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, monitoringv1.AddToScheme, addCertManager,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
}

// strictDecoder fails on unknown and duplicate fields.
var strictDecoder = jsonserializer.NewSerializerWithOptions(jsonserializer.DefaultMetaFactory, scheme, scheme,
	jsonserializer.SerializerOptions{Yaml: true, Strict: true})

// objects is a rendered set of manifests, decoded into typed objects.
type objects struct {
	all []runtime.Object
	// Raw documents, in the order rendered, for messages.
	docs []string
}

// decodeAll splits multi-document YAML and decodes each document strictly into its typed object.
func decodeAll(t testing.TB, manifests []byte) *objects {
	t.Helper()
	objs := &objects{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("splitting YAML: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("strict decode (%v): %v\n---\n%s", gvk, err, doc)
		}
		objs.all = append(objs.all, obj)
		objs.docs = append(objs.docs, string(doc))
	}
	if len(objs.all) == 0 {
		t.Fatal("no objects rendered")
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// kinds lists "Kind/name" of every object, sorted.
func (o *objects) kinds() []string {
	var ks []string
	for _, obj := range o.all {
		ks = append(ks, kindName(obj))
	}
	sort.Strings(ks)
	return ks
}

func kindName(obj runtime.Object) string {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return fmt.Sprintf("%T", obj)
	}
	m, _ := obj.(interface{ GetName() string })
	return gvks[0].Kind + "/" + m.GetName()
}

// only returns the objects of type T.
func only[T runtime.Object](o *objects) []T {
	var out []T
	for _, obj := range o.all {
		if v, ok := obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// one returns the single object of type T (nil and a failure otherwise) matching pred.
func one[T runtime.Object](t testing.TB, o *objects, pred func(T) bool) T {
	t.Helper()
	var found []T
	for _, v := range only[T](o) {
		if pred == nil || pred(v) {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d (objects: %v)", zero, len(found), o.kinds())
		return zero
	}
	return found[0]
}

// configVars is the list of server variables: the TAU_* table of the repository's README,
// which internal/config's TestREADMEConfigTable keeps equal to the variables the server reads.
func configVars(t testing.TB) map[string]bool {
	t.Helper()
	path := filepath.Join(repoRoot, "README.md")
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, v := range readmeVars(md) {
		vars[v] = true
	}
	if len(vars) == 0 {
		t.Fatalf("%s: no TAU_* table between %q and %q", path, readmeTableBegin, readmeTableEnd)
	}
	return vars
}

// The markers around the README's generated TAU_* table (internal/config/readme_test.go).
const (
	readmeTableBegin = "<!-- BEGIN TAU_* table"
	readmeTableEnd   = "<!-- END TAU_* table -->"
)

// readmeVars parses the variables of the README's TAU_* table (rows starting "| `TAU_"
// between the markers); names in prose (TAU_PORT, say) are not variables.
func readmeVars(md []byte) []string {
	var vars []string
	in := false
	row := regexp.MustCompile("^\\|\\s*`(TAU_[A-Z0-9_]+)`\\s*\\|")
	for _, line := range strings.Split(string(md), "\n") {
		switch {
		case strings.HasPrefix(line, readmeTableBegin):
			in = true
		case strings.HasPrefix(line, readmeTableEnd):
			in = false
		case in:
			if m := row.FindStringSubmatch(line); m != nil {
				vars = append(vars, m[1])
			}
		}
	}
	return vars
}

// toYAML is for failure messages.
func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
