package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
)

// Member is one founding member of a cluster, as TAU_INITIAL_CLUSTER names it.
type Member struct {
	Name string
	Peer string // its peer address, host:port
}

// Cluster is cluster mode's settings, resolved: the founding members, this node's name and
// where it listens for peers.
type Cluster struct {
	Founders []Member // sorted by name
	Node     string
	Listen   string // TAU_PEER_ADDRESS, or 0.0.0.0 and the port of this node's entry
	Founder  bool   // this node is one of Founders (else it joins a running cluster)
}

// ClusterMode reports whether TAU_INITIAL_CLUSTER is set.
func (c Config) ClusterMode() bool { return strings.TrimSpace(c.InitialCluster) != "" }

// Cluster resolves cluster mode's settings; call it only in cluster mode. Validate has
// already checked them.
func (c Config) Cluster() (Cluster, error) {
	founders, err := ParseInitialCluster(c.InitialCluster)
	if err != nil {
		return Cluster{}, fmt.Errorf("TAU_INITIAL_CLUSTER=%q is invalid: %w", c.InitialCluster, err)
	}
	cl := Cluster{Founders: founders, Node: c.NodeName, Listen: c.PeerAddress}
	if cl.Node == "" {
		if cl.Node, err = os.Hostname(); err != nil {
			return Cluster{}, fmt.Errorf("TAU_NODE_NAME is unset and the host name is unknown: %w", err)
		}
	}
	for _, m := range founders {
		if m.Name == cl.Node {
			cl.Founder = true
			if cl.Listen == "" {
				_, port, _ := net.SplitHostPort(m.Peer)
				cl.Listen = net.JoinHostPort("0.0.0.0", port)
			}
		}
	}
	if cl.Listen == "" {
		return Cluster{}, fmt.Errorf("TAU_NODE_NAME=%q is not in TAU_INITIAL_CLUSTER, so this node joins a running cluster: set TAU_PEER_ADDRESS to where it listens for its peers", cl.Node)
	}
	return cl, nil
}

// ParseInitialCluster parses name=host:port,… into members sorted by name: names unique and
// non-empty, addresses host:port.
func ParseInitialCluster(s string) ([]Member, error) {
	var ms []Member
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, addr, ok := strings.Cut(part, "=")
		name, addr = strings.TrimSpace(name), strings.TrimSpace(addr)
		switch {
		case !ok || name == "":
			return nil, fmt.Errorf("%q: want name=host:port", part)
		case !validAddress(addr):
			return nil, fmt.Errorf("%q: the address is not host:port", part)
		case seen[name]:
			return nil, fmt.Errorf("the name %q is given twice", name)
		}
		seen[name] = true
		ms = append(ms, Member{Name: name, Peer: addr})
	}
	if len(ms) == 0 {
		return nil, errors.New("no member")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms, nil
}

// validateCluster checks cluster mode's variables and what it refuses of the others.
func (c Config) validateCluster() error {
	if !c.ClusterMode() {
		return nil
	}
	if _, err := ParseInitialCluster(c.InitialCluster); err != nil {
		return fmt.Errorf("TAU_INITIAL_CLUSTER=%q is invalid: %w", c.InitialCluster, err)
	}
	switch {
	case c.PeerAddress != "" && !validAddress(c.PeerAddress):
		return fmt.Errorf("TAU_PEER_ADDRESS=%q is invalid: want host:port", c.PeerAddress)
	case c.ClusterSnapshotEntries < 1:
		return fmt.Errorf("TAU_CLUSTER_SNAPSHOT_ENTRIES=%d is invalid: want at least 1", c.ClusterSnapshotEntries)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("TAU_REQUEST_TIMEOUT=%q is invalid: want a positive duration", c.RequestTimeout)
	case c.Fsync == FsyncInterval && !c.ClusterAcceptFsyncDataLoss:
		return errors.New("TAU_FSYNC=interval is refused in cluster mode: a crash could lose a vote or a log entry a majority counted on, and Raft is then unsafe; use TAU_FSYNC=always, or accept the risk with TAU_CLUSTER_ACCEPT_FSYNC_DATA_LOSS=true")
	}
	return nil
}
