package member

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/config"
)

// The membership API of `tau cluster`, on the HTTP port under /cluster/ (the server lets only
// a live certificate through, as a Bearer token):
//
//	GET    /cluster/members        the members, as this node knows them (List)
//	POST   /cluster/members        {"name": …, "peer_address": …}: add a member, as a learner
//	                               first; it answers once the member is promoted to voter
//	DELETE /cluster/members/NAME   remove a member
//
// A change is proposed through the log from whichever node is asked (C1), one at a time
// (C8); the leader promotes a learner once its log matches (promote).

// List is GET /cluster/members' answer.
type List struct {
	Leader  string   `json:"leader"` // its name, "" when none is known
	Members []Status `json:"members"`
}

// Status is one member in List.
type Status struct {
	Peer
	Role   string `json:"role"` // voter or learner
	Leader bool   `json:"leader"`
}

// changeTimeout bounds one membership change, promotion included.
const changeTimeout = 30 * time.Second

// Handler serves the membership API.
func (m *Member) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cluster/members", m.listMembers)
	mux.HandleFunc("POST /cluster/members", m.addMember)
	mux.HandleFunc("DELETE /cluster/members/{name}", m.removeMember)
	return mux
}

func (m *Member) members() List {
	st := m.node.Status()
	role := map[uint64]string{}
	for _, v := range st.Voters {
		role[v] = "voter"
	}
	for _, l := range st.Learners {
		role[l] = "learner"
	}
	var out List
	for _, p := range m.peers.list() {
		r, ok := role[p.ID]
		if !ok {
			continue // added and removed again
		}
		out.Members = append(out.Members, Status{Peer: p, Role: r, Leader: p.ID == st.Leader})
		if p.ID == st.Leader {
			out.Leader = p.Name
		}
	}
	return out
}

func (m *Member) listMembers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, m.members())
}

type addRequest struct {
	Name        string `json:"name"`
	PeerAddress string `json:"peer_address"`
}

func (m *Member) addMember(w http.ResponseWriter, r *http.Request) {
	var req addRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"name\": NAME, \"peer_address\": HOST:PORT}")
		return
	}
	if _, err := config.ParseInitialCluster(req.Name + "=" + req.PeerAddress); err != nil || strings.ContainsAny(req.Name, "=,") {
		writeError(w, http.StatusBadRequest, "want a name and a peer address host:port")
		return
	}
	id := NodeID(req.Name)
	if p, ok := m.peers.byID(id); ok && p.Name == req.Name {
		writeError(w, http.StatusConflict, "a member named "+req.Name+" exists")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), changeTimeout)
	defer cancel()
	cc := &raftpb.ConfChange{Type: raftpb.ConfChangeAddLearnerNode.Enum(), NodeId: &id}
	if err := m.node.ProposeConfChange(ctx, cc, peerInfo(req.Name, req.PeerAddress)); err != nil {
		writeError(w, http.StatusServiceUnavailable, "adding the learner: "+err.Error())
		return
	}
	m.log.Info("member added as a learner", zap.String("name", req.Name), zap.String("peer_address", req.PeerAddress))
	if err := m.awaitVoter(ctx, id); err != nil {
		writeError(w, http.StatusAccepted, req.Name+" is a learner, not yet a voter: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, m.members())
}

// awaitVoter waits until id is a voter, as this node knows the configuration.
func (m *Member) awaitVoter(ctx context.Context, id uint64) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		for _, v := range m.node.Status().Voters {
			if v == id {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("it has not caught up yet (is it running, with this cluster's TAU_INITIAL_CLUSTER?)")
		case <-t.C:
		}
	}
}

func (m *Member) removeMember(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id := NodeID(name)
	if _, ok := m.peers.byID(id); !ok {
		writeError(w, http.StatusNotFound, "no member named "+name)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), changeTimeout)
	defer cancel()
	cc := &raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: &id}
	if err := m.node.ProposeConfChange(ctx, cc, nil); err != nil {
		writeError(w, http.StatusServiceUnavailable, "removing "+name+": "+err.Error())
		return
	}
	m.log.Info("member removed", zap.String("name", name))
	writeJSON(w, http.StatusOK, m.members())
}

// promote runs on every member; the leader promotes learners whose log has caught up, one
// change at a time (C8).
func (m *Member) promote(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range m.node.CaughtUpLearners() {
			p, _ := m.peers.byID(id)
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			cc := &raftpb.ConfChange{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: &id}
			err := m.node.ProposeConfChange(cctx, cc, peerInfo(p.Name, p.Address))
			cancel()
			if err != nil {
				m.log.Warn("promoting a learner failed; trying again", zap.String("name", p.Name), zap.Error(err))
				break
			}
			m.log.Info("learner promoted to voter", zap.String("name", p.Name))
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
