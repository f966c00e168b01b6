package config

import (
	"bytes"
	"regexp"
	"sort"
	"strings"

	"github.com/kelseyhightower/envconfig"
)

// UnknownVariable is a TAU_* variable of the environment that configures nothing: most often a
// typo (TAU_LISTN_ADDRESS), which would otherwise pass silently.
type UnknownVariable struct {
	Name    string // as set
	Nearest string // the known variable closest to it by edit distance
}

// UnknownVariables lists the TAU_* variables in environ ("KEY=value" pairs, as os.Environ
// gives them) that the server does not read, sorted by name, each with the nearest known
// one. The known set comes from Config itself, so a new field is known as soon as it exists.
// Kubernetes service links (TAU_PORT, TAU_SERVICE_*, TAU_PORT_*, and those of other Services
// whose name begins with tau-) are not configuration and are never listed. Values are not
// kept: a misspelt certificate variable must not reach the log.
func UnknownVariables(environ []string) []UnknownVariable {
	known := KnownVariables()
	isKnown := make(map[string]bool, len(known))
	for _, k := range known {
		isKnown[k] = true
	}
	var unknown []UnknownVariable
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix+"_") || isKnown[name] || isServiceLink(name, value) {
			continue
		}
		unknown = append(unknown, UnknownVariable{Name: name, Nearest: nearest(name, known)})
	}
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Name < unknown[j].Name })
	return unknown
}

// keysFormat lists the variables envconfig reads from Config, one a line.
const keysFormat = "{{range .}}{{usage_key .}}\n{{end}}"

// KnownVariables are the names of every variable the server reads, as envconfig derives them
// from Config's fields.
func KnownVariables() []string { return variablesOf(newSpec().Addr().Interface()) }

// variablesOf lists the variables envconfig reads into spec, a pointer to a struct: the same
// walk envconfig.Process makes, nested structs included.
func variablesOf(spec any) []string {
	var b bytes.Buffer
	if err := envconfig.Usagef(Prefix, spec, &b, keysFormat); err != nil {
		panic("config: listing the variables of a spec: " + err.Error()) // a broken struct tag
	}
	return strings.Fields(b.String())
}

// Service links Kubernetes injects for a Service (kubernetes/kubernetes#35189): for "tau",
// TAU_PORT=tcp://10.0.0.1:7701, TAU_PORT_7701_TCP(_PROTO|_PORT|_ADDR), TAU_SERVICE_HOST,
// TAU_SERVICE_PORT(_<port name>); for "tau-headless", the same under TAU_HEADLESS_.
var (
	serviceLinkName = regexp.MustCompile(`^TAU(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$`)
	// <NAME>_PORT alone could be a typo (TAU_HTTP_PORT), so it counts only with a link's value.
	serviceLinkPort = regexp.MustCompile(`^TAU(_[A-Z0-9_]+)?_PORT$`)
	linkValue       = regexp.MustCompile(`^(tcp|udp|sctp)://`)
)

func isServiceLink(name, value string) bool {
	switch {
	case name == "TAU_PORT", strings.HasPrefix(name, "TAU_PORT_"), strings.HasPrefix(name, "TAU_SERVICE_"):
		return true // the Service named tau: never configuration, whatever the value
	case serviceLinkName.MatchString(name):
		return true
	}
	return serviceLinkPort.MatchString(name) && linkValue.MatchString(value)
}

// nearest is the candidate with the smallest edit distance to name (the first of equals).
func nearest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if d := editDistance(name, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (insertions, deletions and
// substitutions of one byte each cost 1); variable names are ASCII.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
