package member

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"

	"github.com/taudb/tau/internal/config"
)

// NodeID is a member's Raft id: derived from its name, so every member computes the same id
// for a name without asking (never 0, Raft's none).
func NodeID(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	if id := h.Sum64(); id != 0 {
		return id
	}
	return 1
}

// ClusterID names a cluster by its founders' names (not their addresses, which may move):
// a node of another cluster is refused by the transport.
func ClusterID(founders []config.Member) uint64 {
	names := make([]string, len(founders))
	for i, m := range founders {
		names[i] = m.Name
	}
	return NodeID("tau-cluster\x00" + strings.Join(names, "\x00"))
}

// identityFile is where a node's data directory records which cluster and node it belongs
// to, from its first start in cluster mode on: its membership then comes from its log, and
// TAU_INITIAL_CLUSTER only has to name it.
const identityFile = "identity.json"

// identity is identityFile's content (version 1).
type identity struct {
	Version   int    `json:"version"`
	ClusterID uint64 `json:"cluster_id"`
	Node      string `json:"node"`
	NodeID    uint64 `json:"node_id"`
	// Seeded: this node founded the cluster from a single node's data, and is done (seed.go).
	Seeded bool `json:"seeded,omitempty"`
}

const identityVersion = 1

// loadIdentity reads dir's identity; ok is false when there is none yet.
func loadIdentity(dir string) (identity, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, err
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, false, fmt.Errorf("%s: %w", identityFile, err)
	}
	if id.Version != identityVersion {
		return identity{}, false, fmt.Errorf("%s: version %d, this release reads version %d", identityFile, id.Version, identityVersion)
	}
	return id, true, nil
}

// saveIdentity writes dir's identity durably (temporary file, fsync, rename, fsync of dir).
func saveIdentity(dir string, id identity) error {
	id.Version = identityVersion
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, identityFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, identityFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
