package websocket

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOriginPolicyOverHTTP(t *testing.T) {
	own := func(ts *testServer) string { return "http://" + strings.TrimPrefix(ts.url, "ws://") }
	cases := []struct {
		name   string
		allow  []string
		origin func(ts *testServer) string // "" sends no Origin
		want   int
	}{
		{"no origin", nil, func(*testServer) string { return "" }, 101},
		{"same origin", nil, own, 101},
		{"same origin, other case", nil, func(ts *testServer) string { return strings.ToUpper(own(ts)) }, 101},
		{"same host, https", nil, func(ts *testServer) string { return strings.Replace(own(ts), "http:", "https:", 1) }, 403},
		{"foreign", nil, func(*testServer) string { return "http://evil.example" }, 403},
		{"foreign, others allowed", []string{"https://app.example"}, func(*testServer) string { return "http://evil.example" }, 403},
		{"allowed", []string{"https://app.example"}, func(*testServer) string { return "https://app.example" }, 101},
		{"allowed, default port", []string{"https://app.example"}, func(*testServer) string { return "https://app.example:443" }, 101},
		{"allowed, other scheme", []string{"https://app.example"}, func(*testServer) string { return "http://app.example" }, 403},
		{"star", []string{"*"}, func(*testServer) string { return "http://evil.example" }, 101},
		{"null", nil, func(*testServer) string { return "null" }, 403},
		{"null allowed", []string{"null"}, func(*testServer) string { return "null" }, 101},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{opts: ServerOptions{AllowOrigins: tc.allow}})
			h := http.Header{}
			if o := tc.origin(ts); o != "" {
				h.Set("Origin", o)
			}
			c, resp, err := Dial(context.Background(), ts.url, DialOptions{Header: h})
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, tc.want)
			}
			if c != nil {
				ts.accept(t)
				c.Close()
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	cases := []struct {
		allow   []string
		host    string
		tls     bool
		origins []string // nil: no header
		want    bool
	}{
		{nil, "example.com", false, nil, true},
		{nil, "example.com", false, []string{"http://example.com"}, true},
		{nil, "example.com", false, []string{"http://example.com:80"}, true},
		{nil, "example.com:80", false, []string{"http://example.com"}, true},
		{nil, "example.com", false, []string{"http://example.com/"}, true},
		{nil, "example.com", false, []string{"https://example.com"}, false},
		{nil, "example.com", true, []string{"https://example.com"}, true},
		{nil, "example.com:443", true, []string{"https://Example.COM"}, true},
		{nil, "example.com", true, []string{"http://example.com"}, false},
		{nil, "example.com:8080", false, []string{"http://example.com"}, false},
		{nil, "example.com", false, []string{"http://example.com.evil"}, false},
		{nil, "example.com", false, []string{"http://example.com/path"}, false},
		{nil, "example.com", false, []string{"http://user@example.com"}, false},
		{nil, "example.com", false, []string{""}, false},
		{nil, "example.com", false, []string{"http://example.com", "http://example.com"}, false},
		{nil, "[::1]:8080", false, []string{"http://[::1]:8080"}, true},
		{nil, "[::1]", false, []string{"http://[::1]:80"}, true},
		{[]string{"https://a.example:8443"}, "example.com", false, []string{"https://a.example:8443"}, true},
		{[]string{"https://a.example:8443"}, "example.com", false, []string{"https://a.example"}, false},
		{[]string{"HTTPS://A.example/"}, "example.com", false, []string{"https://a.example"}, true},
		{[]string{"*"}, "example.com", false, []string{"http://anything"}, true},
		{[]string{"x", "*"}, "example.com", false, []string{"null"}, true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/rsocket", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		for _, o := range tc.origins {
			r.Header.Add("Origin", o)
		}
		if got := CheckOrigin(tc.allow)(r); got != tc.want {
			t.Errorf("allow %q host %q tls %v origin %q: %v, want %v", tc.allow, tc.host, tc.tls, tc.origins, got, tc.want)
		}
	}
}
