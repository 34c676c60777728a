package tck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseClient(t *testing.T) {
	p := write(t, "clientX.txt", "!\nname%%one\nc0%%subscribe%%rs%%1%%a%%b\n\nc0%%request%%3%%1\n!\nname%%two\nc1%%await%%atLeast%%8%%1%%100v\nEOF\nignored after EOF\n")
	tests, err := ParseClient(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 2 || tests[0].Name != "one" || tests[1].Name != "two" || tests[0].File != "clientX.txt" {
		t.Fatalf("tests: %+v", tests)
	}
	st := tests[0].Steps
	if len(st) != 2 || st[0].Conn != "c0" || st[0].Op != "subscribe" || !slices.Equal(st[0].Args, []string{"rs", "1", "a", "b"}) || st[1].Line != 5 {
		t.Fatalf("steps: %+v", st)
	}
	if a := tests[1].Steps[0]; a.Conn != "c1" || !slices.Equal(a.Args, []string{"atLeast", "8", "1", "100v"}) {
		t.Fatalf("await: %+v", a)
	}
	for _, bad := range []string{"c0%%request%%1%%1\n", "!\nname%%a%%b\n", "!\nname%%a\nc0\n"} {
		if _, err := ParseClient(write(t, "bad.txt", bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestNumber(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "100v": 100, " 7 ": 7, "2147483647": 2147483647} {
		if got, err := Number(in); err != nil || got != want {
			t.Errorf("Number(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "v100", "-1"} {
		if _, err := Number(in); err == nil {
			t.Errorf("Number(%q): no error", in)
		}
	}
}

func TestParseServer(t *testing.T) {
	p := write(t, "serverX.txt", "rs%%a%%b%%---a--b-|&&{\"a\":{\"hello\":\"goodbye\"}}\nrr%%c%%d%%#\n\n")
	hs, err := ParseServer(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Kind != "rs" || hs[0].Marble != "---a--b-|" || hs[1].Marble != "#" {
		t.Fatalf("handlers: %+v", hs)
	}
	if e := hs[0].Element('a'); e != (Element{"hello", "goodbye"}) {
		t.Errorf("a = %+v", e)
	}
	if e := hs[0].Element('b'); e != (Element{"b", "b"}) {
		t.Errorf("b = %+v", e)
	}
	for _, bad := range []string{"rs%%a%%b\n", "xx%%a%%b%%-\n", "rs%%a%%b%%a&&{bad\n", "rs%%a%%b%%a&&{\"a\":{\"x\":\"y\",\"z\":\"w\"}}\n"} {
		if _, err := ParseServer(write(t, "bad.txt", bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestParseReceived(t *testing.T) {
	got, err := ParseReceived("a,b&&c,d")
	if err != nil || !slices.Equal(got, []Element{{"a", "b"}, {"c", "d"}}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseReceived("a"); err == nil {
		t.Error("no error for an item without a comma")
	}
}
