package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
)

func TestParseArgsForms(t *testing.T) {
	o, err := parseClientArgs([]string{"ws://h:1/p", "-i", "a", "--input=b", "-ic", "-i=d", "--input", "-",
		"-r", "5", "--requestn=6", "--channel", "--", "-x"})
	if err == nil {
		t.Fatalf("two positionals accepted: %+v", o)
	}
	o, err = parseClientArgs([]string{"ws://h:1/p", "-i", "a", "--input=b", "-ic", "-i=d", "--input", "-", "-r", "5", "--requestn=6", "--channel"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.inputs, ",") != "a,b,c,d,-" || o.requestN != 6 || o.mode != "channel" || o.uri != "ws://h:1/p" {
		t.Fatalf("%+v", o)
	}
	o, err = parseClientArgs([]string{"--", "-weird-uri"})
	if err != nil || o.uri != "-weird-uri" {
		t.Fatalf("-- then %q: %v", o.uri, err)
	}
	// -r is ignored outside streams and channels (rsocket-cli accepts it anywhere).
	o, err = parseClientArgs([]string{"--request", "-r", "3", "ws://h:1/"})
	if err != nil || o.requestN != 0 {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = parseClientArgs([]string{"--stream", "--stream", "ws://h:1/"})
	if err != nil || o.mode != "stream" {
		t.Fatalf("a repeated mode: %v", err)
	}
}

func TestParseCountAndSeconds(t *testing.T) {
	for in, want := range map[string]int64{"5": 5, "100k": 100_000, "2M": 2_000_000, "1e6": 1_000_000, "1_000": 1000,
		"99999999999999999999": math.MaxInt64, "10000000000000M": math.MaxInt64} {
		if got, err := parseCount(in); err != nil || got != want {
			t.Errorf("parseCount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "1.5", "0x10", "NaN", "Inf", "-Inf"} {
		if _, err := parseCount(bad); err == nil {
			t.Errorf("parseCount(%q) accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "0.5": 500 * time.Millisecond, "250ms": 250 * time.Millisecond, "2m": 2 * time.Minute} {
		if got, err := parseSeconds(in); err != nil || got != want {
			t.Errorf("parseSeconds(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "soon", "1e300", "Inf"} {
		if _, err := parseSeconds(bad); err == nil {
			t.Errorf("parseSeconds(%q) accepted", bad)
		}
	}
}

func TestAppendElement(t *testing.T) {
	for in, want := range map[string]string{
		"hello":         "hello",
		"":              "",
		"tab\there":     "tab\there",
		"héllo ✓":       "héllo ✓",
		"a\nb":          `"a\nb"`,
		"bell\a":        `"bell\a"`,
		"\x00\x01":      `"\x00\x01"`,
		"\xff\xfe":      "0xfffe",
		"ok\x80":        "0x6f6b80",
		"\u0085next":    `"\u0085next"`,
		"line\u2028sep": `"line\u2028sep"`,
	} {
		if got := string(appendElement(nil, []byte(in))); got != want+"\n" {
			t.Errorf("appendElement(%q) = %q, want %q", in, got, want+"\n")
		}
	}
}

func TestFrameLine(t *testing.T) {
	md := metadata.AppendCompositeRoute(nil, "count")
	f := protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, protocol.FlagMetadata, 5, md, []byte("100"))
	got := string(appendFrameLine(nil, "", false, f, metadata.MIMEComposite))
	want := `-> stream=1 REQUEST_STREAM flags=M n=5 md=10 data=3 md:[routing:count] data:"100"` + "\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	f = protocol.AppendPayload(nil, 3, protocol.FlagNext, nil, []byte(strings.Repeat("\xff", 100)))
	got = string(appendFrameLine(nil, "", true, f, ""))
	if got != "<- stream=3 PAYLOAD flags=N data=100 data:0x"+strings.Repeat("ff", 20)+"…\n" {
		t.Fatalf("binary preview %q", got)
	}
	f = protocol.AppendError(nil, 3, protocol.ErrApplicationError, "boom")
	if got = string(appendFrameLine(nil, "", true, f, "")); got != `<- stream=3 ERROR flags=- code=APPLICATION_ERROR data=4 data:"boom"`+"\n" {
		t.Fatalf("error line %q", got)
	}
	if got = string(appendFrameLine(nil, "", true, []byte{0, 0}, "")); !strings.HasPrefix(got, "<- malformed frame (2 bytes)") {
		t.Fatalf("malformed line %q", got)
	}
	long := strings.Repeat("é", 30)
	f = protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, []byte(long))
	if got = string(appendFrameLine(nil, "", true, f, "")); !strings.Contains(got, `data:"`+strings.Repeat("é", 20)+`"…`) {
		t.Fatalf("UTF-8 preview cut inside a rune: %q", got)
	}
}

func TestBuildMetadata(t *testing.T) {
	str := func(s string) *string { return &s }
	rm, err := buildMetadata(&cliOpts{route: "r", metadata: str("plain text"), headers: []string{"A: 1", "B: 2", "A: 3"}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := metadata.Entries(rm.first)
	if err != nil || len(entries) != 3 {
		t.Fatalf("%v %v", entries, err)
	}
	if entries[0].MIME != metadata.MIMERouting || entries[1].MIME != "application/json" || string(entries[1].Content) != `{"A":"3","B":"2"}` ||
		entries[2].MIME != "text/plain" || string(entries[2].Content) != "plain text" {
		t.Fatalf("entries %+v", entries)
	}
	if rest, _ := metadata.Entries(rm.rest); len(rest) != 2 {
		t.Fatalf("channel elements after the first carry %d entries, want 2 (no route)", len(rest))
	}
	rm, _ = buildMetadata(&cliOpts{metadata: str("\xff\x00")})
	if e, _ := metadata.Entries(rm.first); len(e) != 1 || e[0].MIME != "application/octet-stream" {
		t.Fatalf("binary -m: %+v", e)
	}
	rm, _ = buildMetadata(&cliOpts{})
	if rm.first != nil || rm.mime != metadata.MIMEComposite {
		t.Fatalf("no metadata: %+v", rm)
	}
	rm, _ = buildMetadata(&cliOpts{metadata: str(`{"x":1}`), metadataFormat: "json"})
	if string(rm.first) != `{"x":1}` || rm.mime != "application/json" {
		t.Fatalf("json -m: %+v", rm)
	}
	rm, _ = buildMetadata(&cliOpts{route: "a.b", metadataFormat: "routing"})
	if r, _ := metadata.RouteOf(rm.first, metadata.MIMERouting); r != "a.b" {
		t.Fatalf("routing: %q", r)
	}
	for _, o := range []*cliOpts{
		{route: "r", metadataFormat: "json"},
		{metadata: str("x"), metadataFormat: "routing"},
		{metadata: str("x"), headers: []string{"A: b"}, metadataFormat: "text"},
		{metadataFormat: "nonsense"},
		{metadataFormat: "bad mime/ty pe"},
		{headers: []string{"nocolon"}},
	} {
		if _, err := buildMetadata(o); !isUsage(err) {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}

func TestHist(t *testing.T) {
	for v := int64(0); v < 1<<20; v += 1 + v/7 {
		i := histBucket(v)
		if mid := histValue(i); math.Abs(float64(mid-v)) > float64(v)/60+1 {
			t.Fatalf("value %d in bucket %d shown as %d", v, i, mid)
		}
	}
	if histBucket(math.MaxInt64) >= histBuckets {
		t.Fatal("max value out of range")
	}
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	near := func(got time.Duration, want float64) bool { return math.Abs(float64(got)/1e3-want) <= want*0.02 }
	if p := h.quantile(0.5); !near(p, 500) {
		t.Errorf("p50 %v", p)
	}
	if p := h.quantile(0.99); !near(p, 990) {
		t.Errorf("p99 %v", p)
	}
	if p := h.quantile(1); p != time.Millisecond {
		t.Errorf("p100 %v", p)
	}
	var empty hist
	if empty.quantile(0.5) != 0 {
		t.Error("empty hist")
	}
}
