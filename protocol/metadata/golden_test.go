package metadata_test

// The composite metadata vectors of the digest (rsocket-digest.md, section 18,
// last three rows, and the examples of 17.4) and ours live in the table below.
// TestGoldenJSON writes the table to testdata/golden.json, which the JS
// client's tests read too; run
//
//	go test ./protocol/metadata -run TestGoldenJSON -update
//
// after changing the table. Without -update the test fails when the file is
// stale. Format of testdata/golden.json: a JSON array, one object per vector,
//
//	{"name": string,
//	 "hex": string (the whole composite metadata, possibly ""),
//	 "decodeOnly"?: true (a wire form our encoders never write, e.g. a custom
//	                string spelling a well-known type; decode it, do not expect
//	                an encoder to produce it),
//	 "entries": [{
//	    "mime": string, or null for an unassigned well-known ID,
//	    "id": number (the well-known ID on the wire), or null for a custom string,
//	    "content": hex string,
//	    "routes"?: [string]          (routing entries: the tags),
//	    "auth"?: {"type": string or null ("simple", "bearer", a custom type; null
//	              for an unassigned ID), "id": number or null (custom string),
//	              "payload": hex string,
//	              "username"?: string, "password"?: string (simple),
//	              "token"?: string (bearer)},
//	    "mimeType"?: {"mime": string or null, "id": number or null} (mime-type entries),
//	    "accept"?: [{"mime": ..., "id": ...}] (accept-mime-types entries)}]}
//
// A well-known entry carries both its ID and the table's MIME string; a custom
// entry carries its string and "id": null. The decoded views ("routes", "auth",
// "mimeType", "accept") appear on entries of those types (matched by ID or by
// string) whose content decodes.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/protocol/metadata"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the table")

type vector struct {
	name    string
	hex     string
	entries []metadata.Entry
	// build encodes the vector with the package's encoders; nil = decode only.
	build func(dst []byte) []byte
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	p, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return p
}

func unhex(s string) []byte {
	p, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return p
}

var long128 = "application/" + strings.Repeat("x", 128-len("application/"))

var vectors = []vector{
	{
		name:    "routing-echo",
		hex:     "fe000006052f6563686f",
		entries: []metadata.Entry{{MIME: metadata.MIMERouting, ID: 0x7E, Content: unhex("052f6563686f")}},
		build:   func(dst []byte) []byte { return metadata.AppendCompositeRoute(dst, "/echo") },
	},
	{
		name:    "custom-mime",
		hex:     "136170706c69636174696f6e2f782e637573746f6d00000176",
		entries: []metadata.Entry{{MIME: "application/x.custom", ID: metadata.Custom, Content: []byte("v")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, "application/x.custom", []byte("v"))
		},
	},
	{
		name:    "auth-simple",
		hex:     "fc00000b8000047573657270617373",
		entries: []metadata.Entry{{MIME: metadata.MIMEAuth, ID: 0x7C, Content: unhex("8000047573657270617373")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEAuth, metadata.AppendSimpleAuth(nil, "user", "pass"))
		},
	},
	{
		name:    "auth-bearer",
		hex:     "fc00000481746f6b",
		entries: []metadata.Entry{{MIME: metadata.MIMEAuth, ID: 0x7C, Content: unhex("81746f6b")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEAuth, metadata.AppendBearerAuth(nil, "tok"))
		},
	},
	{
		name:    "auth-custom-type",
		hex:     "fc00000b06782e746f6b656e616263",
		entries: []metadata.Entry{{MIME: metadata.MIMEAuth, ID: 0x7C, Content: unhex("06782e746f6b656e616263")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEAuth, metadata.AppendCustomAuth(nil, "x.token", []byte("abc")))
		},
	},
	{
		name:    "routing-two-tags",
		hex:     "fe000009052f6563686f027632",
		entries: []metadata.Entry{{MIME: metadata.MIMERouting, ID: 0x7E, Content: unhex("052f6563686f027632")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMERouting, metadata.AppendRouting(nil, "/echo", "v2"))
		},
	},
	{
		name:    "mime-type-json",
		hex:     "fa00000185",
		entries: []metadata.Entry{{MIME: metadata.MIMEType, ID: 0x7A, Content: unhex("85")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEType, metadata.AppendMIMEType(nil, "application/json"))
		},
	},
	{
		name:    "mime-type-custom",
		hex:     "fa000015136170706c69636174696f6e2f782e637573746f6d",
		entries: []metadata.Entry{{MIME: metadata.MIMEType, ID: 0x7A, Content: unhex("136170706c69636174696f6e2f782e637573746f6d")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEType, metadata.AppendMIMEType(nil, "application/x.custom"))
		},
	},
	{
		name:    "accept-json-text",
		hex:     "fb00000285a1",
		entries: []metadata.Entry{{MIME: metadata.MIMEAcceptTypes, ID: 0x7B, Content: unhex("85a1")}},
		build: func(dst []byte) []byte {
			return metadata.AppendComposite(dst, metadata.MIMEAcceptTypes,
				metadata.AppendAcceptMIMETypes(nil, "application/json", "text/plain"))
		},
	},
	{
		name:    "unassigned-well-known-id",
		hex:     "ab0000020102",
		entries: []metadata.Entry{{MIME: "", ID: 0x2B, Content: unhex("0102")}},
		build:   func(dst []byte) []byte { return metadata.AppendCompositeID(dst, 0x2B, []byte{1, 2}) },
	},
	{
		name:    "empty-content",
		hex:     "85000000",
		entries: []metadata.Entry{{MIME: "application/json", ID: 5, Content: []byte{}}},
		build:   func(dst []byte) []byte { return metadata.AppendComposite(dst, "application/json", []byte{}) },
	},
	{
		name:  "empty",
		hex:   "",
		build: func(dst []byte) []byte { return dst },
	},
	{
		name:    "custom-mime-128-bytes",
		hex:     "7f" + hex.EncodeToString([]byte(long128)) + "000000",
		entries: []metadata.Entry{{MIME: long128, ID: metadata.Custom, Content: []byte{}}},
		build:   func(dst []byte) []byte { return metadata.AppendComposite(dst, long128, nil) },
	},
	{
		name: "several-entries",
		hex:  "fe000006052f6563686f" + "fc00000481746f6b" + "fa00000185" + "136170706c69636174696f6e2f782e637573746f6d00000176",
		entries: []metadata.Entry{
			{MIME: metadata.MIMERouting, ID: 0x7E, Content: unhex("052f6563686f")},
			{MIME: metadata.MIMEAuth, ID: 0x7C, Content: unhex("81746f6b")},
			{MIME: metadata.MIMEType, ID: 0x7A, Content: unhex("85")},
			{MIME: "application/x.custom", ID: metadata.Custom, Content: []byte("v")},
		},
		build: func(dst []byte) []byte {
			dst = metadata.AppendCompositeRoute(dst, "/echo")
			dst = metadata.AppendComposite(dst, metadata.MIMEAuth, metadata.AppendBearerAuth(nil, "tok"))
			dst = metadata.AppendComposite(dst, metadata.MIMEType, metadata.AppendMIMEType(nil, "application/json"))
			return metadata.AppendComposite(dst, "application/x.custom", []byte("v"))
		},
	},
	{
		name:    "routing-as-custom-string",
		hex:     "1b" + hex.EncodeToString([]byte(metadata.MIMERouting)) + "000006052f6563686f",
		entries: []metadata.Entry{{MIME: metadata.MIMERouting, ID: metadata.Custom, Content: unhex("052f6563686f")}},
	},
}

func TestCompositeVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			md := mustHex(t, v.hex)
			got, err := metadata.Entries(md)
			if err != nil {
				t.Fatalf("Entries: %v", err)
			}
			if len(got) != len(v.entries) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(v.entries), got)
			}
			for i, e := range got {
				w := v.entries[i]
				if e.MIME != w.MIME || e.ID != w.ID || !bytes.Equal(e.Content, w.Content) || e.Content == nil {
					t.Errorf("entry %d = {%q %d %x}, want {%q %d %x}", i, e.MIME, e.ID, e.Content, w.MIME, w.ID, w.Content)
				}
			}
			if v.build != nil {
				if enc := v.build(nil); !bytes.Equal(enc, md) {
					t.Errorf("encoded\n %x\nwant\n %x", enc, md)
				}
				if enc := v.build([]byte{0xEE}); enc[0] != 0xEE || !bytes.Equal(enc[1:], md) {
					t.Errorf("encoding after existing bytes: %x", enc)
				}
			}
		})
	}
}

// ---- golden.json ------------------------------------------------------------------

type jsonType struct {
	MIME *string `json:"mime"`
	ID   *int    `json:"id"`
}

type jsonAuth struct {
	Type     *string `json:"type"`
	ID       *int    `json:"id"`
	Payload  string  `json:"payload"`
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
	Token    *string `json:"token,omitempty"`
}

type jsonEntry struct {
	MIME     *string    `json:"mime"`
	ID       *int       `json:"id"`
	Content  string     `json:"content"`
	Routes   []string   `json:"routes,omitempty"`
	Auth     *jsonAuth  `json:"auth,omitempty"`
	MIMEType *jsonType  `json:"mimeType,omitempty"`
	Accept   []jsonType `json:"accept,omitempty"`
}

type jsonVector struct {
	Name       string      `json:"name"`
	Hex        string      `json:"hex"`
	DecodeOnly bool        `json:"decodeOnly,omitempty"`
	Entries    []jsonEntry `json:"entries"`
}

func ptr[T any](v T) *T { return &v }

func typeJSON(mime string, id int) jsonType {
	var j jsonType
	if mime != "" {
		j.MIME = ptr(mime)
	}
	if id != metadata.Custom {
		j.ID = ptr(id)
	}
	return j
}

func entryJSON(t *testing.T, e metadata.Entry) jsonEntry {
	tj := typeJSON(e.MIME, e.ID)
	j := jsonEntry{MIME: tj.MIME, ID: tj.ID, Content: hex.EncodeToString(e.Content)}
	switch e.MIME {
	case metadata.MIMERouting:
		routes, err := metadata.Routes(e.Content)
		if err == nil {
			j.Routes = routes
		}
	case metadata.MIMEAuth:
		a, err := metadata.ParseAuth(e.Content)
		if err != nil {
			break
		}
		at := typeJSON(a.Type, a.ID)
		j.Auth = &jsonAuth{Type: at.MIME, ID: at.ID, Payload: hex.EncodeToString(a.Payload)}
		if u, p, err := a.Simple(); err == nil {
			j.Auth.Username, j.Auth.Password = &u, &p
		}
		if tok, ok := a.Bearer(); ok {
			j.Auth.Token = &tok
		}
	case metadata.MIMEType:
		if mt, err := metadata.ParseMIMEType(e.Content); err == nil {
			j.MIMEType = ptr(typeJSON(mt.MIME, mt.ID))
		}
	case metadata.MIMEAcceptTypes:
		if ts, err := metadata.ParseAcceptMIMETypes(e.Content); err == nil {
			for _, mt := range ts {
				j.Accept = append(j.Accept, typeJSON(mt.MIME, mt.ID))
			}
		}
	}
	return j
}

func goldenJSON(t *testing.T) []byte {
	out := []jsonVector{}
	for _, v := range vectors {
		jv := jsonVector{Name: v.name, Hex: v.hex, DecodeOnly: v.build == nil, Entries: []jsonEntry{}}
		es, err := metadata.Entries(mustHex(t, v.hex))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		for _, e := range es {
			jv.Entries = append(jv.Entries, entryJSON(t, e))
		}
		out = append(out, jv)
	}
	p, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(p, '\n')
}

func TestGoldenJSON(t *testing.T) {
	path := filepath.Join("testdata", "golden.json")
	want := goldenJSON(t)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./protocol/metadata -run TestGoldenJSON -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale; run go test ./protocol/metadata -run TestGoldenJSON -update", path)
	}
}
