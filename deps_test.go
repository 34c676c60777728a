package sluice_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the layering of docs/design.md true: imports point
// down, the codec is standard library only, and the engine knows no concrete
// WebSocket library and no router.
func TestImportRules(t *testing.T) {
	const mod = "github.com/sluicehq/sluice"
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var ds []string
		for _, d := range strings.Fields(string(out)) {
			if d != mod+"/"+pkg {
				ds = append(ds, d)
			}
		}
		return ds
	}
	rules := []struct {
		pkg    string
		allow  []string // prefixes of allowed non-standard imports
		forbid []string
	}{
		{pkg: "protocol"},
		{pkg: "protocol/metadata"},
		{pkg: "internal/credit"},
		{pkg: "internal/sched"},
		{pkg: "internal/fragment", allow: []string{mod + "/protocol"}},
		{pkg: "transport", allow: nil},
		{pkg: "internal/session", allow: []string{mod + "/protocol", mod + "/internal/", mod + "/transport", mod}},
	}
	for _, r := range rules {
		for _, d := range deps(r.pkg) {
			ok := false
			for _, a := range r.allow {
				if d == a || strings.HasPrefix(d, a+"/") || (strings.HasSuffix(a, "/") && strings.HasPrefix(d, a)) {
					ok = true
				}
			}
			if d == mod+"/transport/websocket" || d == mod+"/router" || strings.Contains(d, "gorilla") {
				ok = false
			}
			if !ok {
				t.Errorf("%s imports %s", r.pkg, d)
			}
		}
	}
	// Nothing heavy in the core: the client and server pull gorilla/websocket only.
	for _, pkg := range []string{"client", "server"} {
		for _, d := range deps(pkg) {
			if !strings.HasPrefix(d, mod) && !strings.HasPrefix(d, "github.com/gorilla/websocket") {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}
