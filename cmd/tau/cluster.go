package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

const clusterUsage = `Usage: tau [connection flags] cluster SUBCOMMAND [flags]

Membership of a cluster (PROTOCOL.md C8), through any member's HTTP port:
  list                      print the members: name, id, peer address, role, leader
  add NAME HOST:PORT        add a member (its peer address): as a learner first, promoted to
                            voter once it has caught up; answers once it is a voter
  remove NAME               remove a member; it stops serving

Flags (beside the connection flags; the certificate authorizes the call):
  --http HOST:PORT   the member's HTTP address (env TAU_HTTP_ADDRESS; default the host of
                     --addr and port 7702)
  --https            speak HTTPS to it (a server with TAU_HTTP_TLS=true), verified with --tls-ca
`

// clusterCallTimeout bounds one membership call: an add waits for the learner to catch up.
const clusterCallTimeout = 45 * time.Second

func (c *command) cluster(args []string) error {
	if len(args) == 0 {
		return usagef("cluster wants a subcommand: list, add or remove")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return c.clusterCall(rest, "cluster list", "", 0, func([]string) (string, string, any) {
			return http.MethodGet, "/cluster/members", nil
		})
	case "add":
		return c.clusterCall(rest, "cluster add", "NAME HOST:PORT", 2, func(a []string) (string, string, any) {
			return http.MethodPost, "/cluster/members", map[string]string{"name": a[0], "peer_address": a[1]}
		})
	case "remove":
		return c.clusterCall(rest, "cluster remove", "NAME", 1, func(a []string) (string, string, any) {
			return http.MethodDelete, "/cluster/members/" + a[0], nil
		})
	case "help", "-h", "--help", "-help":
		_, _ = fmt.Fprint(c.stdout, clusterUsage)
		return errHelpShown
	}
	return usagef("unknown cluster subcommand %q: want list, add or remove", sub)
}

// clusterMembers is the membership API's answer (internal/member.List).
type clusterMembers struct {
	Leader  string `json:"leader"`
	Members []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		PeerAddress string `json:"peer_address"`
		Role        string `json:"role"`
		Leader      bool   `json:"leader"`
	} `json:"members"`
	Error string `json:"error"`
}

// clusterCall runs one call of the membership API and prints the members it answers with.
func (c *command) clusterCall(args []string, name, argsUsage string, n int, req func([]string) (string, string, any)) error {
	fs := c.flags(name, argsUsage)
	httpAddr := fs.String("http", "", "the member's HTTP address (env TAU_HTTP_ADDRESS)")
	https := fs.Bool("https", false, "speak HTTPS (a server with TAU_HTTP_TLS=true)")
	pos, err := c.parse(fs, args, n)
	if err != nil {
		return err
	}
	cert, err := c.conn.certificate(c.env)
	if err != nil {
		return err
	}
	tlsCfg, err := c.conn.tls.config(c.env)
	if err != nil {
		return err
	}
	addr := c.httpAddress(*httpAddr)
	method, path, body := req(pos)
	var payload io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		payload = bytes.NewReader(b)
	}
	scheme := "http"
	if *https {
		scheme = "https"
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, method, scheme+"://"+addr+path, payload)
	if err != nil {
		return usagef("%s: %v", name, err)
	}
	r.Header.Set("Authorization", "Bearer "+hex.EncodeToString(cert[:]))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Do(r)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var m clusterMembers
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &m); err != nil {
		if resp.StatusCode >= http.StatusBadRequest { // the server's own refusal, in plain text
			return &apiError{fmt.Sprintf("%s: %s (%s)", name, strings.TrimSpace(string(raw)), resp.Status)}
		}
		return fmt.Errorf("%s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(raw)))
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{fmt.Sprintf("%s: %s (%s)", name, m.Error, resp.Status)}
	}
	return c.printMembers(&m)
}

// httpAddress is --http, else TAU_HTTP_ADDRESS, else --addr's host with port 7702.
func (c *command) httpAddress(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if a := c.env("TAU_HTTP_ADDRESS"); a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(c.conn.address(c.env))
	if err != nil {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, "7702")
}

func (c *command) printMembers(m *clusterMembers) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tID\tPEER ADDRESS\tROLE\tLEADER")
	for _, p := range m.Members {
		lead := ""
		if p.Leader {
			lead = "*"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.ID, p.PeerAddress, p.Role, lead)
	}
	return tw.Flush()
}

// apiError is an answer of the membership API that refuses the call: exit 1, as an error
// status of the TAU port is.
type apiError struct{ msg string }

func (e *apiError) Error() string { return e.msg }
