package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// maxBody bounds a response body read: Concord's answers to the load's
// requests are a few kilobytes.
const maxBody = 4 << 20

// api talks to one Concord over keep-alive connections, to loopback
// addresses only.
type api struct {
	base   string
	client *http.Client
}

// newAPI returns a client of base whose every connection is checked to be
// to a loopback address, with up to conns connections kept open.
func newAPI(base string, conns int, timeout time.Duration) *api {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if err := loopbackConn(conn.RemoteAddr()); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
	}
	return &api{base: base, client: &http.Client{Timeout: timeout, Transport: transport,
		// A redirect would leave the checked target.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send makes one request (body nil for none, else JSON) and returns the
// status, the body and the round trip, body read included.
func (a *api) send(ctx context.Context, method, path, token string, body []byte) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := a.client.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), fmt.Errorf("%s %s: %w", method, path, err)
	}
	got, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	res.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, nil, took, fmt.Errorf("%s %s: read the body: %w", method, path, err)
	}
	return res.StatusCode, got, took, nil
}

// call makes a set-up request that must answer want, decoding the answer
// into out (if not nil).
func (a *api) call(ctx context.Context, want int, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	status, got, _, err := a.send(ctx, method, path, token, body)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, status, want, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("%s %s: decode %.300s: %w", method, path, got, err)
		}
	}
	return nil
}

// waitReady polls GET /readyz until it answers 200, for up to wait.
func (a *api) waitReady(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		status, _, _, err := a.send(ctx, http.MethodGet, "/readyz", "", nil)
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			return fmt.Errorf("no Concord ready at %s within %s (GET /readyz: %v)", a.base, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// account is a signed-in user of the load.
type account struct {
	id, email, password, token string
}

// authResult is the body of register and login.
type authResult struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	AccessToken string `json:"accessToken"`
}

// register creates a patient with a unique e-mail address (so that runs
// never collide) and a random password, in Europe/London.
func (a *api) register(ctx context.Context, label string) (account, error) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	acc := account{
		email:    fmt.Sprintf("concordload-%s-%d-%s@load.example", label, time.Now().UnixMilli(), hex.EncodeToString(suffix)),
		password: "load " + hex.EncodeToString(suffix) + " password",
	}
	var res authResult
	if err := a.call(ctx, http.StatusCreated, http.MethodPost, "/v1/auth/register", "", map[string]string{
		"email": acc.email, "password": acc.password, "name": "Load " + label, "role": "patient", "timezone": loadZone,
	}, &res); err != nil {
		return account{}, fmt.Errorf("register the load's patient: %w", err)
	}
	acc.id, acc.token = res.User.ID, res.AccessToken
	return acc, nil
}
