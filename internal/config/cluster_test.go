package config

import (
	"strings"
	"testing"
)

func TestParseInitialCluster(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // names=peers sorted, or the error's text
		wantErr bool
	}{
		{in: "b=h2:7703,a=h1:7703", want: "a=h1:7703,b=h2:7703"},
		{in: " a = h1:1 , ", want: "a=h1:1"},
		{in: "a=h1", want: "the address is not host:port", wantErr: true},
		{in: "=h1:1", want: "want name=host:port", wantErr: true},
		{in: "a=h:1,a=h:2", want: "given twice", wantErr: true},
		{in: ",", want: "no member", wantErr: true},
	} {
		ms, err := ParseInitialCluster(tc.in)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.want)
			}
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Name+"="+m.Peer)
		}
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("%q: %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestClusterResolves(t *testing.T) {
	c := Default()
	c.InitialCluster, c.NodeName = "tau-0=tau-0.h:7703,tau-1=tau-1.h:7713", "tau-1"
	cl, err := c.Cluster()
	if err != nil || !cl.Founder || cl.Listen != "0.0.0.0:7713" || len(cl.Founders) != 2 {
		t.Fatalf("founder: %+v, %v", cl, err)
	}
	c.NodeName = "tau-2"
	if _, err := c.Cluster(); err == nil || !strings.Contains(err.Error(), "TAU_PEER_ADDRESS") {
		t.Fatalf("a joiner without TAU_PEER_ADDRESS: %v", err)
	}
	c.PeerAddress = "0.0.0.0:7723"
	if cl, err := c.Cluster(); err != nil || cl.Founder || cl.Listen != "0.0.0.0:7723" {
		t.Fatalf("joiner: %+v, %v", cl, err)
	}
}

func TestClusterRefusesFsyncInterval(t *testing.T) {
	c := Default()
	c.InitialCluster, c.Fsync = "a=h:1", FsyncInterval
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "TAU_CLUSTER_ACCEPT_FSYNC_DATA_LOSS") {
		t.Fatalf("interval in cluster mode: %v", err)
	}
	c.ClusterAcceptFsyncDataLoss = true
	if err := c.Validate(); err != nil {
		t.Fatalf("accepted risk: %v", err)
	}
	c.InitialCluster = ""
	c.ClusterAcceptFsyncDataLoss = false
	if err := c.Validate(); err != nil {
		t.Fatalf("one node with interval: %v", err)
	}
}
