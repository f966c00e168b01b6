package k8stest

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Certificate is the part of cert-manager's cert-manager.io/v1 Certificate the chart writes,
// field for field as cert-manager's API names them, so that the strict decoder refuses a
// field the chart misspells. (The chart's objects are checked as rendered; the API server of
// make test-k8s knows no cert-manager CRD.)
type Certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              CertificateSpec `json:"spec"`
}

// CertificateSpec is cert-manager's, in part.
type CertificateSpec struct {
	SecretName     string `json:"secretName"`
	SecretTemplate *struct {
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"secretTemplate,omitempty"`
	Duration    string   `json:"duration,omitempty"`
	RenewBefore string   `json:"renewBefore,omitempty"`
	CommonName  string   `json:"commonName,omitempty"`
	DNSNames    []string `json:"dnsNames,omitempty"`
	PrivateKey  *struct {
		Algorithm      string `json:"algorithm,omitempty"`
		Size           int    `json:"size,omitempty"`
		RotationPolicy string `json:"rotationPolicy,omitempty"`
		Encoding       string `json:"encoding,omitempty"`
	} `json:"privateKey,omitempty"`
	Usages    []string `json:"usages,omitempty"`
	IssuerRef struct {
		Name  string `json:"name"`
		Kind  string `json:"kind,omitempty"`
		Group string `json:"group,omitempty"`
	} `json:"issuerRef"`
}

// DeepCopyObject implements runtime.Object (by a JSON round trip: a test type).
func (c *Certificate) DeepCopyObject() runtime.Object {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	var out Certificate
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

func addCertManager(s *runtime.Scheme) error {
	gv := schema.GroupVersion{Group: "cert-manager.io", Version: "v1"}
	s.AddKnownTypes(gv, &Certificate{})
	metav1.AddToGroupVersion(s, gv)
	return nil
}
