package metadata_test

import (
	"bytes"
	"errors"
	"go.uber.org/goleak"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/protocol/metadata"
)

func TestWellKnownTable(t *testing.T) {
	assigned := 0
	for id := -1; id <= 128; id++ {
		s := metadata.WellKnownMIME(id)
		if s == "" {
			if id >= 0 && id <= 0x2A || id >= 0x7A && id <= 0x7F {
				t.Errorf("ID %#x has no MIME string", id)
			}
			continue
		}
		if id < 0 || id > 0x7F || (id > 0x2A && id < 0x7A) {
			t.Errorf("ID %#x should be unassigned, got %q", id, s)
		}
		assigned++
		back, ok := metadata.WellKnownID(s)
		if !ok || back != id {
			t.Errorf("WellKnownID(%q) = %#x, %v; want %#x", s, back, ok, id)
		}
		if err := metadata.CheckMIME(s); err != nil {
			t.Errorf("well-known %q fails CheckMIME: %v", s, err)
		}
	}
	if assigned != 43+6 {
		t.Errorf("%d assigned IDs, want 49", assigned)
	}
	for id, want := range map[int]string{
		0x00: "application/avro", 0x05: "application/json", 0x06: "application/octet-stream",
		0x21: "text/plain", 0x23: "video/H264", 0x2A: "application/x-flatbuffers",
		metadata.IDMIMEType: metadata.MIMEType, metadata.IDAcceptTypes: metadata.MIMEAcceptTypes,
		metadata.IDAuth: metadata.MIMEAuth, metadata.IDTracing: metadata.MIMETracing,
		metadata.IDRouting: metadata.MIMERouting, metadata.IDComposite: metadata.MIMEComposite,
	} {
		if got := metadata.WellKnownMIME(id); got != want {
			t.Errorf("WellKnownMIME(%#x) = %q, want %q", id, got, want)
		}
	}
	if _, ok := metadata.WellKnownID("video/h264"); ok {
		t.Error("lookup is not exact")
	}
	if metadata.MIMEComposite != "message/x.rsocket.composite-metadata.v0" {
		t.Error("MIMEComposite")
	}
}

func TestMalformedComposite(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		good int // entries yielded before the error
	}{
		{"length missing", "fe", 0},
		{"length cut", "fe0000", 0},
		{"content past the end", "fe000007052f6563686f", 0},
		{"u24 length max", "feffffff00", 0},
		{"custom string past the end", "13617070", 0},
		{"custom string without length", "0061", 0},
		{"second entry cut", "fe000006052f6563686f" + "fc0000", 1},
		{"trailing type byte", "85000000" + "7f", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := mustHex(t, c.hex)
			n := 0
			var last error
			for e, err := range metadata.Composite(md) {
				if err != nil {
					last = err
					if e.MIME != "" || e.Content != nil {
						t.Errorf("error came with a non-zero entry %+v", e)
					}
					continue
				}
				if last != nil {
					t.Fatal("entry after the error")
				}
				n++
			}
			if !errors.Is(last, metadata.ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", last)
			}
			if n != c.good {
				t.Errorf("%d entries before the error, want %d", n, c.good)
			}
			if es, err := metadata.Entries(md); err == nil || len(es) != c.good {
				t.Errorf("Entries = %d, %v", len(es), err)
			}
			if _, ok := metadata.Find(md, "nothing/here"); ok {
				t.Error("Find found something")
			}
		})
	}
}

func TestCompositeIteration(t *testing.T) {
	md := mustHex(t, vectors[len(vectors)-2].hex) // several-entries
	seq := metadata.Composite(md)
	for range 2 { // a Seq can be ranged over again
		n := 0
		for range seq {
			n++
		}
		if n != 4 {
			t.Fatalf("%d entries, want 4", n)
		}
	}
	for e := range seq { // break stops early
		if e.ID != metadata.IDRouting {
			t.Fatal("first entry is not routing")
		}
		break
	}
	c, ok := metadata.Find(md, "application/x.custom")
	if !ok || string(c) != "v" {
		t.Fatalf("Find custom = %q %v", c, ok)
	}
	c, ok = metadata.Find(md, metadata.MIMEType)
	if !ok || !bytes.Equal(c, []byte{0x85}) {
		t.Fatalf("Find mime-type = %x %v", c, ok)
	}
	if _, ok := metadata.Find(md, ""); ok {
		t.Fatal(`Find("") matched`)
	}
	if _, ok := metadata.Find(mustHex(t, "ab000000"), ""); ok {
		t.Fatal(`Find("") matched an unassigned ID`)
	}
	// Content slices are capped: appending to one cannot overwrite the next entry.
	e, _ := metadata.Entries(md)
	_ = append(e[0].Content, 0xFF)
	if !bytes.Equal(md, mustHex(t, vectors[len(vectors)-2].hex)) {
		t.Fatal("appending to an entry's content changed the metadata")
	}
}

func TestRouting(t *testing.T) {
	tag255 := strings.Repeat("r", 255)
	got := metadata.AppendRouting(nil, "a", tag255)
	if len(got) != 2+1+255 || got[0] != 1 || got[2] != 255 {
		t.Fatalf("AppendRouting = %x", got[:4])
	}
	tags, err := metadata.Routes(got)
	if err != nil || len(tags) != 2 || tags[0] != "a" || tags[1] != tag255 {
		t.Fatalf("Routes = %q, %v", tags, err)
	}
	if tags, err := metadata.Routes(nil); err != nil || tags != nil {
		t.Fatalf("Routes(nil) = %q, %v", tags, err)
	}
	for _, bad := range []string{"00", "0561", "ff" + strings.Repeat("61", 254), "0161" + "03"} {
		if _, err := metadata.Routes(mustHex(t, bad)); !errors.Is(err, metadata.ErrMalformed) {
			t.Errorf("Routes(%s) error %v, want ErrMalformed", bad, err)
		}
	}
	// The composite entry's u24 length counts the tag's length byte.
	e := metadata.AppendCompositeRoute(nil, tag255)
	if !bytes.Equal(e[:4], []byte{0xFE, 0, 1, 0}) {
		t.Fatalf("AppendCompositeRoute header %x", e[:4])
	}
	for _, bad := range []string{"", tag255 + "x"} {
		if metadata.CheckTag(bad) == nil {
			t.Errorf("CheckTag accepted %d bytes", len(bad))
		}
		mustPanic(t, "AppendRouting", func() { metadata.AppendRouting(nil, bad) })
		mustPanic(t, "AppendCompositeRoute", func() { metadata.AppendCompositeRoute(nil, bad) })
	}
}

func TestRouteOf(t *testing.T) {
	comp := metadata.MIMEComposite
	cases := []struct {
		name, hex, mime, want string
		ok                    bool
	}{
		{"composite routing", "fe000006052f6563686f", comp, "/echo", true},
		{"composite two tags", "fe000009052f6563686f027632", comp, "/echo", true},
		{"routing after auth", "fc00000481746f6b" + "fe000006052f6563686f", comp, "/echo", true},
		{"first routing entry wins", "fe000002016a" + "fe000002016b", comp, "j", true},
		{"routing as custom string", vectors[len(vectors)-1].hex, comp, "/echo", true},
		{"no routing", "fc00000481746f6b", comp, "", false},
		{"empty composite", "", comp, "", false},
		{"empty routing entry", "fe000000", comp, "", false},
		{"malformed before routing", "fc0000ff81" + "fe000006052f6563686f", comp, "", false},
		{"malformed routing tag", "fe0000020561", comp, "", false},
		{"routing MIME", "052f6563686f", metadata.MIMERouting, "/echo", true},
		{"routing MIME zero tag", "00", metadata.MIMERouting, "", false},
		{"routing MIME empty", "", metadata.MIMERouting, "", false},
		{"other MIME", "052f6563686f", "application/json", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := metadata.RouteOf(mustHex(t, c.hex), c.mime)
			if got != c.want || ok != c.ok {
				t.Fatalf("RouteOf = %q %v, want %q %v", got, ok, c.want, c.ok)
			}
		})
	}
	if _, ok := metadata.RouteOf(nil, comp); ok {
		t.Fatal("RouteOf(nil) found a route")
	}
}

func TestAuth(t *testing.T) {
	// Digest 17.4.
	simple := mustHex(t, "8000047573657270617373")
	if got := metadata.AppendSimpleAuth(nil, "user", "pass"); !bytes.Equal(got, simple) {
		t.Fatalf("AppendSimpleAuth = %x", got)
	}
	bearer := mustHex(t, "81746f6b")
	if got := metadata.AppendBearerAuth(nil, "tok"); !bytes.Equal(got, bearer) {
		t.Fatalf("AppendBearerAuth = %x", got)
	}
	a, err := metadata.ParseAuth(simple)
	if err != nil || a.Type != "simple" || a.ID != metadata.AuthSimple {
		t.Fatalf("ParseAuth(simple) = %+v, %v", a, err)
	}
	if u, p, err := a.Simple(); u != "user" || p != "pass" || err != nil {
		t.Fatalf("Simple = %q %q %v", u, p, err)
	}
	if _, ok := a.Bearer(); ok {
		t.Fatal("simple auth has a bearer token")
	}
	a, err = metadata.ParseAuth(bearer)
	if tok, ok := a.Bearer(); err != nil || !ok || tok != "tok" || a.ID != metadata.AuthBearer {
		t.Fatalf("ParseAuth(bearer) = %+v %v", a, err)
	}
	if _, _, err := a.Simple(); err == nil {
		t.Fatal("bearer auth decoded as simple")
	}
	// Empty username and password; well-known names through AppendCustomAuth.
	if got := metadata.AppendSimpleAuth(nil, "", ""); !bytes.Equal(got, []byte{0x80, 0, 0}) {
		t.Fatalf("empty simple = %x", got)
	}
	if got := metadata.AppendCustomAuth(nil, "bearer", []byte("t")); !bytes.Equal(got, []byte{0x81, 't'}) {
		t.Fatalf("custom bearer = %x", got)
	}
	if got := metadata.AppendCustomAuth(nil, "simple", nil); !bytes.Equal(got, []byte{0x80}) {
		t.Fatalf("custom simple = %x", got)
	}
	// Custom type, length minus one.
	c := metadata.AppendCustomAuth(nil, "x.token", []byte("abc"))
	if !bytes.Equal(c, mustHex(t, "06782e746f6b656e616263")) {
		t.Fatalf("AppendCustomAuth = %x", c)
	}
	a, err = metadata.ParseAuth(c)
	if err != nil || a.Type != "x.token" || a.ID != metadata.Custom || string(a.Payload) != "abc" {
		t.Fatalf("ParseAuth(custom) = %+v %v", a, err)
	}
	// Unassigned well-known auth type: kept.
	a, err = metadata.ParseAuth([]byte{0x85, 1})
	if err != nil || a.Type != "" || a.ID != 5 || !bytes.Equal(a.Payload, []byte{1}) {
		t.Fatalf("ParseAuth(0x85) = %+v %v", a, err)
	}
	for _, bad := range []string{"", "05616263", "7f"} {
		if _, err := metadata.ParseAuth(mustHex(t, bad)); !errors.Is(err, metadata.ErrMalformed) {
			t.Errorf("ParseAuth(%s) error %v", bad, err)
		}
	}
	for _, bad := range []string{"80", "8000", "80000561626364"} {
		a, err := metadata.ParseAuth(mustHex(t, bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Simple(); !errors.Is(err, metadata.ErrMalformed) {
			t.Errorf("Simple(%s) error %v", bad, err)
		}
	}
	mustPanic(t, "long username", func() { metadata.AppendSimpleAuth(nil, strings.Repeat("u", 65536), "") })
	if got := metadata.AppendSimpleAuth(nil, strings.Repeat("u", 65535), "p"); len(got) != 1+2+65535+1 {
		t.Fatal("65535-byte username")
	}
	mustPanic(t, "empty auth type", func() { metadata.AppendCustomAuth(nil, "", nil) })
}

func TestMIMETypes(t *testing.T) {
	for _, c := range []struct {
		mime, hex string
		id        int
	}{
		{"application/json", "85", 5},
		{"text/plain", "a1", 0x21},
		{metadata.MIMEComposite, "ff", 0x7F},
		{"application/x.custom", "136170706c69636174696f6e2f782e637573746f6d", metadata.Custom},
		{"a", "0061", metadata.Custom},
	} {
		enc := metadata.AppendMIMEType(nil, c.mime)
		if !bytes.Equal(enc, mustHex(t, c.hex)) {
			t.Errorf("AppendMIMEType(%q) = %x, want %s", c.mime, enc, c.hex)
		}
		mt, err := metadata.ParseMIMEType(enc)
		if err != nil || mt.MIME != c.mime || mt.ID != c.id {
			t.Errorf("ParseMIMEType(%x) = %+v %v", enc, mt, err)
		}
	}
	for _, bad := range []string{"", "8585", "0261", "7f61"} {
		if _, err := metadata.ParseMIMEType(mustHex(t, bad)); !errors.Is(err, metadata.ErrMalformed) {
			t.Errorf("ParseMIMEType(%s) error %v", bad, err)
		}
	}
	acc := metadata.AppendAcceptMIMETypes(nil, "application/json", "application/x.custom", "text/plain")
	ts, err := metadata.ParseAcceptMIMETypes(acc)
	if err != nil || len(ts) != 3 || ts[0].ID != 5 || ts[1].MIME != "application/x.custom" || ts[1].ID != metadata.Custom || ts[2].MIME != "text/plain" {
		t.Fatalf("ParseAcceptMIMETypes = %+v %v", ts, err)
	}
	if ts, err := metadata.ParseAcceptMIMETypes(nil); ts != nil || err != nil {
		t.Fatalf("empty accept list = %+v %v", ts, err)
	}
	if _, err := metadata.ParseAcceptMIMETypes(mustHex(t, "8503")); !errors.Is(err, metadata.ErrMalformed) {
		t.Fatalf("cut accept list error %v", err)
	}
	// A custom string that spells a well-known type decodes to the table's string.
	mt, err := metadata.ParseMIMEType(append([]byte{15}, "application/json"...))
	if err != nil || mt.MIME != "application/json" || mt.ID != metadata.Custom {
		t.Fatalf("spelled well-known = %+v %v", mt, err)
	}
}

func TestCheckMIMEAndPanics(t *testing.T) {
	for _, c := range []struct {
		mime string
		ok   bool
	}{
		{"a", true}, {long128, true}, {long128 + "x", false}, {"", false}, {"appl\u00e9", false},
	} {
		if err := metadata.CheckMIME(c.mime); (err == nil) != c.ok {
			t.Errorf("CheckMIME(%q) = %v", c.mime, err)
		}
		if !c.ok {
			mustPanic(t, "AppendComposite "+c.mime, func() { metadata.AppendComposite(nil, c.mime, nil) })
			mustPanic(t, "AppendMIMEType "+c.mime, func() { metadata.AppendMIMEType(nil, c.mime) })
			mustPanic(t, "AppendAcceptMIMETypes "+c.mime, func() { metadata.AppendAcceptMIMETypes(nil, "text/plain", c.mime) })
		}
	}
	mustPanic(t, "AppendCompositeID 128", func() { metadata.AppendCompositeID(nil, 128, nil) })
	mustPanic(t, "AppendCompositeID -1", func() { metadata.AppendCompositeID(nil, -1, nil) })
	mustPanic(t, "content over u24", func() { metadata.AppendComposite(nil, "text/plain", make([]byte, 1<<24)) })
	// The largest content is fine and its length is written in three bytes.
	e := metadata.AppendComposite(nil, "text/plain", make([]byte, 1<<24-1))
	if !bytes.Equal(e[:4], []byte{0xA1, 0xFF, 0xFF, 0xFF}) {
		t.Fatalf("max entry header %x", e[:4])
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestAllocations(t *testing.T) {
	md := mustHex(t, "fc00000481746f6b"+"fe000006052f6563686f"+"fa00000185")
	var n int
	if a := testing.AllocsPerRun(100, func() {
		for e, err := range metadata.Composite(md) {
			if err == nil && e.ID >= 0 {
				n++
			}
		}
	}); a != 0 {
		t.Errorf("iterating well-known entries: %v allocs", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = metadata.Find(md, metadata.MIMERouting) }); a != 0 {
		t.Errorf("Find: %v allocs", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = metadata.RouteOf(md, metadata.MIMEComposite) }); a > 1 {
		t.Errorf("RouteOf: %v allocs, want at most the route string", a)
	}
	buf := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(100, func() {
		buf = metadata.AppendCompositeRoute(buf[:0], "/echo")
		buf = metadata.AppendComposite(buf, metadata.MIMEAuth, md[4:8])
	}); a != 0 {
		t.Errorf("encoding: %v allocs", a)
	}
}

// ---- fuzz ---------------------------------------------------------------------

func FuzzComposite(f *testing.F) {
	for _, v := range vectors {
		f.Add(mustHex(f, v.hex))
	}
	f.Add(mustHex(f, "fe0000"))
	f.Fuzz(func(t *testing.T, md []byte) {
		var re []byte
		var entries []metadata.Entry
		failed := false
		for e, err := range metadata.Composite(md) {
			if err != nil {
				if !errors.Is(err, metadata.ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				failed = true
				break
			}
			entries = append(entries, e)
			if e.ID != metadata.Custom {
				re = metadata.AppendCompositeID(re, e.ID, e.Content)
			} else if metadata.CheckMIME(e.MIME) == nil {
				re = metadata.AppendComposite(re, e.MIME, e.Content)
			} else {
				re = append(re, byte(len(e.MIME)-1))
				re = append(re, e.MIME...)
				re = append(re, byte(len(e.Content)>>16), byte(len(e.Content)>>8), byte(len(e.Content)))
				re = append(re, e.Content...)
			}
			_, _ = metadata.Find(md, e.MIME)
		}
		_, _ = metadata.RouteOf(md, metadata.MIMEComposite)
		if failed {
			return
		}
		got, err := metadata.Entries(re)
		if err != nil || len(got) != len(entries) {
			t.Fatalf("re-encoded %x: %d entries, %v; want %d", re, len(got), err, len(entries))
		}
		for i := range got {
			if got[i].MIME != entries[i].MIME || !bytes.Equal(got[i].Content, entries[i].Content) {
				t.Fatalf("entry %d changed: %+v -> %+v", i, entries[i], got[i])
			}
		}
		if len(re) > len(md) {
			t.Fatalf("re-encoding grew %d -> %d bytes", len(md), len(re))
		}
	})
}

func FuzzRoutes(f *testing.F) {
	f.Add(mustHex(f, "052f6563686f027632"))
	f.Add([]byte{0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, content []byte) {
		tags, err := metadata.Routes(content)
		route, ok := metadata.RouteOf(content, metadata.MIMERouting)
		if err != nil {
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatal(err)
			}
			if ok && (len(tags) == 0 || route != tags[0]) {
				t.Fatalf("RouteOf = %q but Routes gave %q", route, tags)
			}
			return
		}
		if ok != (len(tags) > 0) || ok && route != tags[0] {
			t.Fatalf("RouteOf = %q %v, Routes = %q", route, ok, tags)
		}
		if re := metadata.AppendRouting(nil, tags...); !bytes.Equal(re, content) {
			t.Fatalf("re-encoded %x, want %x", re, content)
		}
	})
}

func FuzzAuth(f *testing.F) {
	for _, s := range []string{"8000047573657270617373", "81746f6b", "06782e746f6b656e616263", "", "85"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		a, err := metadata.ParseAuth(content)
		if err != nil {
			if !errors.Is(err, metadata.ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		u, p, serr := a.Simple()
		if serr == nil {
			if re := metadata.AppendSimpleAuth(nil, u, p); !bytes.Equal(re[1:], a.Payload) {
				t.Fatalf("simple re-encoded %x, payload %x", re, a.Payload)
			}
		}
		if tok, ok := a.Bearer(); ok && tok != string(a.Payload) {
			t.Fatal("bearer token differs from payload")
		}
	})
}

func FuzzMIMETypes(f *testing.F) {
	for _, s := range []string{"85", "85a1", "136170706c69636174696f6e2f782e637573746f6d", "", "7f"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		mt, err1 := metadata.ParseMIMEType(content)
		ts, err2 := metadata.ParseAcceptMIMETypes(content)
		if (err1 == nil) && (err2 != nil || len(ts) != 1 || ts[0] != mt) {
			t.Fatalf("ParseMIMEType %+v but accept list %+v %v", mt, ts, err2)
		}
		for _, err := range []error{err1, err2} {
			if err != nil && !errors.Is(err, metadata.ErrMalformed) {
				t.Fatal(err)
			}
		}
	})
}

// ---- benchmarks -------------------------------------------------------------------

func BenchmarkRouteOf(b *testing.B) {
	md := metadata.AppendCompositeRoute(nil, "/echo")
	md = metadata.AppendComposite(md, metadata.MIMEAuth, metadata.AppendBearerAuth(nil, "token"))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := metadata.RouteOf(md, metadata.MIMEComposite); !ok {
			b.Fatal("no route")
		}
	}
}

func BenchmarkAppendCompositeRoute(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = metadata.AppendCompositeRoute(buf[:0], "/echo")
	}
}

func BenchmarkComposite(b *testing.B) {
	md := mustHex(b, vectors[len(vectors)-2].hex)
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range metadata.Composite(md) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// ---- leak check -----------------------------------------------------------------

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
