package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"

	"google.golang.org/grpc/metadata"
)

// The handshake of every stream, a challenge and response in both directions, so that each end
// proves it holds the secret without sending it, and no recorded handshake can be replayed:
//
//  1. the client opens the stream with metadata naming the cluster, itself, the node it means to
//     reach and a fresh client nonce;
//  2. the server refuses another cluster id or another recipient, else answers with header
//     metadata holding a fresh server nonce and its proof over both nonces;
//  3. the client checks the server's proof (a server without the secret gets nothing), then sends
//     its own proof over both nonces as the stream's first frame;
//  4. the server checks it, in constant time, before it reads anything else.
//
// The two proofs are keyed by role, so one cannot stand for the other.
const (
	mdCluster = "tau-cluster"
	mdFrom    = "tau-from"
	mdTo      = "tau-to"
	mdNonce   = "tau-nonce"
	mdProof   = "tau-proof"

	nonceSize = 16
)

// Why a handshake failed: the reason label of tau_cluster_peer_auth_failures_total.
const (
	reasonMalformed   = "malformed"    // missing or unparsable handshake fields
	reasonCluster     = "cluster"      // another cluster id
	reasonRecipient   = "recipient"    // the stream was meant for another node id
	reasonProof       = "proof"        // the client's proof does not match
	reasonServerProof = "server_proof" // the server's proof does not match
	reasonRefused     = "refused"      // the peer refused our handshake
	reasonTimeout     = "timeout"      // no proof within DialTimeout
	reasonRemoved     = "removed"      // the node was removed from the cluster
)

var (
	errAnotherCluster = errors.New("a node of another cluster")
	errBadProof       = errors.New("the proof of the secret does not match")
	errHandshake      = errors.New("malformed handshake")
	errRecipient      = errors.New("the stream is meant for another node")
	errRemoved        = errors.New("the node was removed from the cluster")
)

// hello is what the client's metadata says.
type hello struct {
	cluster, from, to uint64
	nonce             []byte
}

func newNonce() []byte {
	b := make([]byte, nonceSize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return b
}

func (h hello) metadata() metadata.MD {
	return metadata.Pairs(
		mdCluster, strconv.FormatUint(h.cluster, 10),
		mdFrom, strconv.FormatUint(h.from, 10),
		mdTo, strconv.FormatUint(h.to, 10),
		mdNonce, hex.EncodeToString(h.nonce),
	)
}

// parseHello reads a client's metadata.
func parseHello(md metadata.MD) (hello, error) {
	var h hello
	var err error
	if h.cluster, err = mdUint(md, mdCluster); err != nil {
		return h, err
	}
	if h.from, err = mdUint(md, mdFrom); err != nil {
		return h, err
	}
	if h.to, err = mdUint(md, mdTo); err != nil {
		return h, err
	}
	h.nonce, err = mdNonceOf(md)
	return h, err
}

func mdUint(md metadata.MD, key string) (uint64, error) {
	v := md.Get(key)
	if len(v) != 1 {
		return 0, errHandshake
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0, errHandshake
	}
	return n, nil
}

func mdBytes(md metadata.MD, key string, size int) ([]byte, error) {
	v := md.Get(key)
	if len(v) != 1 {
		return nil, errHandshake
	}
	b, err := hex.DecodeString(v[0])
	if err != nil || len(b) != size {
		return nil, errHandshake
	}
	return b, nil
}

func mdNonceOf(md metadata.MD) ([]byte, error) { return mdBytes(md, mdNonce, nonceSize) }

// proof is the HMAC-SHA256, keyed by the secret, of a role, the cluster id, the prover's and the
// verifier's node ids, and the verifier's nonce then the prover's.
func proof(secret []byte, role string, cluster, prover, verifier uint64, verifierNonce, proverNonce []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("tau-peer-v1 " + role))
	var ids [24]byte
	binary.BigEndian.PutUint64(ids[0:], cluster)
	binary.BigEndian.PutUint64(ids[8:], prover)
	binary.BigEndian.PutUint64(ids[16:], verifier)
	mac.Write(ids[:])
	mac.Write(verifierNonce)
	mac.Write(proverNonce)
	return mac.Sum(nil)
}

func clientProof(secret []byte, h hello, serverNonce []byte) []byte {
	return proof(secret, "client", h.cluster, h.from, h.to, serverNonce, h.nonce)
}

func serverProof(secret []byte, h hello, serverNonce []byte) []byte {
	return proof(secret, "server", h.cluster, h.to, h.from, h.nonce, serverNonce)
}

// checkProof compares got, in constant time, with the proof that each secret makes.
func checkProof(got []byte, secrets [][]byte, proofOf func(secret []byte) []byte) error {
	ok := false
	for _, s := range secrets {
		ok = hmac.Equal(got, proofOf(s)) || ok
	}
	if !ok {
		return errBadProof
	}
	return nil
}
