# Kubernetes: the Helm chart (charts/tau), the kustomize base (deploy/) and their tests.
# Included by the main Makefile; every name here is prefixed K8S_/k8s- or is a test-* target.
#
#   make test-deploy   render chart + deploy/, decode strictly, check invariants, helm lint
#   make test-k8s      the same objects against a real kube-apiserver + etcd on loopback
#   make k8s-render    write the rendered manifests to $(K8S_RENDER_DIR) for reading
#   make k8s-tools     install the pinned tools into .tools/bin
#
# Tools are pinned and cached in .tools/bin (a version stamp per tool, so a bump rebuilds).

K8S_TOOLS_BIN      ?= $(CURDIR)/.tools/bin
K8S_HELM_VERSION   ?= v3.22.0
K8S_KUSTOMIZE_VERSION ?= v5.8.1
# kube-apiserver and kubectl come from hack/k8s/tools/go.mod (k8s.io/kubernetes + staging pins).
K8S_VERSION        := $(shell awk '$$1 == "require" && $$2 == "k8s.io/kubernetes" {print $$3}' $(CURDIR)/hack/k8s/tools/go.mod)
# Debian bookworm's etcd (apt-cache policy etcd-server).
K8S_ETCD_DEB_VERSION ?= 3.4.23-4+b4
K8S_RENDER_DIR     ?= $(CURDIR)/.tools/render
K8S_TEST_TIMEOUT   ?= 20m

K8S_HELM           := $(K8S_TOOLS_BIN)/helm
K8S_KUSTOMIZE      := $(K8S_TOOLS_BIN)/kustomize
K8S_KUBE_APISERVER := $(K8S_TOOLS_BIN)/kube-apiserver
K8S_KUBECTL        := $(K8S_TOOLS_BIN)/kubectl
K8S_STAMP          := $(K8S_TOOLS_BIN)/.stamp

# kubectl refuses a server version it can't parse: give the binaries a real one.
K8S_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(patsubst v%,%,$(K8S_VERSION)))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(patsubst v%,%,$(K8S_VERSION)))) \
	-X k8s.io/component-base/version.gitTreeState=clean

K8S_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test-deploy test-k8s k8s-tools k8s-render k8s-etcd

test-deploy: $(K8S_STAMP)-helm-$(K8S_HELM_VERSION) $(K8S_STAMP)-kustomize-$(K8S_KUSTOMIZE_VERSION) ## Check the Helm chart and deploy/ without a cluster
	cd hack/k8s/test && HELM=$(K8S_HELM) KUSTOMIZE=$(K8S_KUSTOMIZE) go test -count=1 ./...

test-k8s: $(K8S_STAMP)-helm-$(K8S_HELM_VERSION) $(K8S_STAMP)-kubernetes-$(K8S_VERSION) k8s-etcd ## Install the chart and apply deploy/ on a real kube-apiserver (etcd, no cluster)
	cd hack/k8s/test && HELM=$(K8S_HELM) KUBECTL=$(K8S_KUBECTL) KUBE_APISERVER=$(K8S_KUBE_APISERVER) \
		ETCD=$$(command -v etcd) go test -count=1 -v -timeout $(K8S_TEST_TIMEOUT) -run '^TestAPIServer$$' ./...

k8s-tools: $(K8S_STAMP)-helm-$(K8S_HELM_VERSION) $(K8S_STAMP)-kustomize-$(K8S_KUSTOMIZE_VERSION) $(K8S_STAMP)-kubernetes-$(K8S_VERSION) k8s-etcd ## Install helm, kustomize, kube-apiserver, kubectl (.tools/bin) and etcd (apt)

k8s-render: $(K8S_STAMP)-helm-$(K8S_HELM_VERSION) $(K8S_STAMP)-kustomize-$(K8S_KUSTOMIZE_VERSION) ## Lint and render the chart and deploy/ into .tools/render
	HELM=$(K8S_HELM) KUSTOMIZE=$(K8S_KUSTOMIZE) hack/k8s/render.sh $(K8S_RENDER_DIR)

$(K8S_STAMP)-helm-$(K8S_HELM_VERSION):
	mkdir -p $(K8S_TOOLS_BIN)
	GOBIN=$(K8S_TOOLS_BIN) go install helm.sh/helm/v3/cmd/helm@$(K8S_HELM_VERSION)
	rm -f $(K8S_STAMP)-helm-* && touch $@

$(K8S_STAMP)-kustomize-$(K8S_KUSTOMIZE_VERSION):
	mkdir -p $(K8S_TOOLS_BIN)
	GOBIN=$(K8S_TOOLS_BIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(K8S_KUSTOMIZE_VERSION)
	rm -f $(K8S_STAMP)-kustomize-* && touch $@

# Several minutes of CPU on 2 cores, once: the stamp keeps later runs instant.
$(K8S_STAMP)-kubernetes-$(K8S_VERSION): hack/k8s/tools/go.mod hack/k8s/tools/go.sum
	mkdir -p $(K8S_TOOLS_BIN)
	cd hack/k8s/tools && go build -ldflags '$(K8S_LDFLAGS)' -o $(K8S_KUBE_APISERVER) k8s.io/kubernetes/cmd/kube-apiserver
	cd hack/k8s/tools && go build -ldflags '$(K8S_LDFLAGS)' -o $(K8S_KUBECTL) k8s.io/kubernetes/cmd/kubectl
	rm -f $(K8S_STAMP)-kubernetes-* && touch $@

# etcd from Debian, pinned; apt-get update only when the pinned version isn't known yet.
k8s-etcd:
	@if [ "$$(dpkg-query -W -f='$${Version}' etcd-server 2>/dev/null)" != "$(K8S_ETCD_DEB_VERSION)" ]; then \
		echo "installing etcd-server=$(K8S_ETCD_DEB_VERSION)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(K8S_SUDO) apt-get install -y --no-install-recommends etcd-server=$(K8S_ETCD_DEB_VERSION) >/dev/null 2>&1 || \
		{ $(K8S_SUDO) apt-get update -qq && \
		  $(K8S_SUDO) apt-get install -y --no-install-recommends etcd-server=$(K8S_ETCD_DEB_VERSION); }; \
	fi
	@command -v etcd >/dev/null
