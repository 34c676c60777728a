package protocol_test

// The golden vectors of the digest (rsocket-digest.md, section 18) live in the
// table below. TestGoldenJSON writes the same table to testdata/golden.json,
// which the JS client's tests read too; run
//
//	go test ./protocol -run TestGoldenJSON -update
//
// after changing the table. Without -update the test fails when the file is
// stale. Format of testdata/golden.json: a JSON array, one object per frame,
//
//	{"name": string, "hex": string (the frame, no length prefix),
//	 "frame": {"streamId": number, "type": number, "flags": number (the 10 flag
//	           bits as on the wire, M included),
//	           "n"?: number, "code"?: number,
//	           "metadata": hex string, or null when absent (M clear),
//	           "data": hex string,
//	           "version"?: number (major<<16 | minor), "keepalive"?: number,
//	           "lifetime"?: number, "token"?: hex string or null (no R flag),
//	           "metadataMime"?: string, "dataMime"?: string,
//	           "position"?: number, "position2"?: number, "extType"?: number}}
//
// Optional keys appear only for the frame types that use them:
//
//	SETUP            version, keepalive, lifetime, token, metadataMime, dataMime
//	LEASE            keepalive (the TTL in ms), n (the number of requests)
//	KEEPALIVE        position
//	REQUEST_STREAM   n (initial request N); REQUEST_CHANNEL likewise
//	REQUEST_N        n
//	ERROR            code (data is the UTF-8 message)
//	RESUME           version, token, position (last received server position),
//	                 position2 (first available client position)
//	RESUME_OK        position
//	EXT              extType
//
// The three fragment rows of the digest are three separate objects. The TCP row
// (length prefix) is not in the file: the file holds WebSocket messages only;
// TestTCPLengthPrefix checks it.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go.uber.org/goleak"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the table")

const mimeComposite = "message/x.rsocket.composite-metadata.v0"

type golden struct {
	name string
	hex  string
	want protocol.Frame
	// enc builds the frame with the matching Append* encoder.
	enc func(dst []byte) []byte
}

func b(s string) []byte { return []byte(s) }

var goldens = []golden{
	{
		name: "setup-v1.0-composite-text",
		hex:  "00000000040000010000000001f4000005dc276d6573736167652f782e72736f636b65742e636f6d706f736974652d6d657461646174612e76300a746578742f706c61696e",
		want: protocol.Frame{Type: protocol.TypeSetup, Version: protocol.Version10, Keepalive: 500, Lifetime: 1500,
			MetadataMIME: b(mimeComposite), DataMIME: b("text/plain"), Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendSetup(dst, 500, 1500, nil, false, mimeComposite, "text/plain", nil, nil)
		},
	},
	{
		name: "setup-resume-lease-token-md-data",
		hex:  "0000000005c00001000000004e2000015f900002746b106170706c69636174696f6e2f6a736f6e0a746578742f706c61696e0000016d64",
		want: protocol.Frame{Type: protocol.TypeSetup,
			Flags:   protocol.FlagMetadata | protocol.FlagResume | protocol.FlagLease,
			Version: protocol.Version10, Keepalive: 20000, Lifetime: 90000, Token: b("tk"),
			MetadataMIME: b("application/json"), DataMIME: b("text/plain"), Metadata: b("m"), Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendSetup(dst, 20000, 90000, b("tk"), true, "application/json", "text/plain", b("m"), b("d"))
		},
	},
	{
		name: "request-response-data",
		hex:  "0000000110006869",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestResponse, Data: b("hi")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequest(dst, protocol.TypeRequestResponse, 1, 0, nil, b("hi"))
		},
	},
	{
		name: "request-fnf-empty-metadata",
		hex:  "00000003150000000078",
		want: protocol.Frame{StreamID: 3, Type: protocol.TypeRequestFNF, Flags: protocol.FlagMetadata,
			Metadata: b(""), Data: b("x")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequest(dst, protocol.TypeRequestFNF, 3, 0, []byte{}, b("x"))
		},
	},
	{
		name: "request-stream-md-data",
		hex:  "000000011900000000010000026d6464",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestStream, Flags: protocol.FlagMetadata, N: 1,
			Metadata: b("md"), Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestStream, 1, 0, 1, b("md"), b("d"))
		},
	},
	{
		name: "request-stream-empty-md",
		hex:  "0000000119000000000100000064",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestStream, Flags: protocol.FlagMetadata, N: 1,
			Metadata: b(""), Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestStream, 1, 0, 1, []byte{}, b("d"))
		},
	},
	{
		name: "request-stream-no-md",
		hex:  "0000000118000000000164",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestStream, N: 1, Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestStream, 1, 0, 1, nil, b("d"))
		},
	},
	{
		name: "request-stream-max-n-empty",
		hex:  "0000000518007fffffff",
		want: protocol.Frame{StreamID: 5, Type: protocol.TypeRequestStream, N: protocol.MaxN, Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestStream, 5, 0, protocol.MaxN, nil, nil)
		},
	},
	{
		name: "request-channel-complete",
		hex:  "000000011c400000000861",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestChannel, Flags: protocol.FlagComplete, N: 8,
			Data: b("a")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestChannel, 1, protocol.FlagComplete, 8, nil, b("a"))
		},
	},
	{
		name: "request-n",
		hex:  "00000001200000000005",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestN, N: 5},
		enc:  func(dst []byte) []byte { return protocol.AppendRequestN(dst, 1, 5) },
	},
	{
		name: "cancel",
		hex:  "000000072400",
		want: protocol.Frame{StreamID: 7, Type: protocol.TypeCancel},
		enc:  func(dst []byte) []byte { return protocol.AppendCancel(dst, 7) },
	},
	{
		name: "payload-next",
		hex:  "00000001282068656c6c6f",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload, Flags: protocol.FlagNext, Data: b("hello")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagNext, nil, b("hello"))
		},
	},
	{
		name: "payload-complete",
		hex:  "000000012840",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload, Flags: protocol.FlagComplete, Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagComplete, nil, nil)
		},
	},
	{
		name: "payload-next-complete-md",
		hex:  "0000000129600000016d",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload,
			Flags: protocol.FlagMetadata | protocol.FlagNext | protocol.FlagComplete, Metadata: b("m"), Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagNext|protocol.FlagComplete, b("m"), nil)
		},
	},
	{
		name: "payload-next-empty",
		hex:  "000000012820",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload, Flags: protocol.FlagNext, Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagNext, nil, nil)
		},
	},
	{
		name: "error-application",
		hex:  "000000012c000000020164",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeError, Code: protocol.ErrApplicationError, Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendError(dst, 1, protocol.ErrApplicationError, "d")
		},
	},
	{
		name: "error-invalid-setup",
		hex:  "000000002c0000000001626164",
		want: protocol.Frame{Type: protocol.TypeError, Code: protocol.ErrInvalidSetup, Data: b("bad")},
		enc: func(dst []byte) []byte {
			return protocol.AppendError(dst, 0, protocol.ErrInvalidSetup, "bad")
		},
	},
	{
		name: "keepalive-respond",
		hex:  "000000000c80000000000000000064",
		want: protocol.Frame{Type: protocol.TypeKeepalive, Flags: protocol.FlagRespond, Data: b("d")},
		enc: func(dst []byte) []byte {
			return protocol.AppendKeepalive(dst, true, 0, b("d"))
		},
	},
	{
		name: "keepalive-reply",
		hex:  "000000000c000000000000000000",
		want: protocol.Frame{Type: protocol.TypeKeepalive, Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendKeepalive(dst, false, 0, nil)
		},
	},
	{
		name: "lease",
		hex:  "000000000800000003e80000000a",
		want: protocol.Frame{Type: protocol.TypeLease, Keepalive: 1000, N: 10},
		enc:  func(dst []byte) []byte { return protocol.AppendLease(dst, 1000, 10, nil) },
	},
	{
		name: "lease-md",
		hex:  "000000000900000003e80000000a6d",
		want: protocol.Frame{Type: protocol.TypeLease, Flags: protocol.FlagMetadata, Keepalive: 1000, N: 10,
			Metadata: b("m")},
		enc: func(dst []byte) []byte { return protocol.AppendLease(dst, 1000, 10, b("m")) },
	},
	{
		name: "metadata-push",
		hex:  "000000003100616263",
		want: protocol.Frame{Type: protocol.TypeMetadataPush, Flags: protocol.FlagMetadata, Metadata: b("abc")},
		enc:  func(dst []byte) []byte { return protocol.AppendMetadataPush(dst, b("abc")) },
	},
	{
		name: "resume",
		hex:  "000000003400000100000002746b00000000000000100000000000000000",
		want: protocol.Frame{Type: protocol.TypeResume, Version: protocol.Version10, Token: b("tk"), Position: 16},
		enc:  func(dst []byte) []byte { return protocol.AppendResume(dst, b("tk"), 16, 0) },
	},
	{
		name: "resume-ok",
		hex:  "0000000038000000000000000020",
		want: protocol.Frame{Type: protocol.TypeResumeOK, Position: 32},
		enc:  func(dst []byte) []byte { return protocol.AppendResumeOK(dst, 32) },
	},
	{
		name: "ext-ignore",
		hex:  "00000001fe00000000077a",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeExt, Flags: protocol.FlagIgnore, ExtType: 7, Data: b("z")},
		enc: func(dst []byte) []byte {
			return protocol.AppendExt(dst, 1, protocol.FlagIgnore, 7, nil, b("z"))
		},
	},
	{
		name: "fragment-1of3-request-stream",
		hex:  "000000011980000000030000026162",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypeRequestStream,
			Flags: protocol.FlagMetadata | protocol.FlagFollows, N: 3, Metadata: b("ab"), Data: b("")},
		enc: func(dst []byte) []byte {
			return protocol.AppendRequestWithN(dst, protocol.TypeRequestStream, 1, protocol.FlagFollows, 3, b("ab"), nil)
		},
	},
	{
		name: "fragment-2of3-payload",
		hex:  "0000000129a000000263647778",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload,
			Flags: protocol.FlagMetadata | protocol.FlagFollows | protocol.FlagNext, Metadata: b("cd"), Data: b("wx")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagFollows|protocol.FlagNext, b("cd"), b("wx"))
		},
	},
	{
		name: "fragment-3of3-payload",
		hex:  "000000012820797a",
		want: protocol.Frame{StreamID: 1, Type: protocol.TypePayload, Flags: protocol.FlagNext, Data: b("yz")},
		enc: func(dst []byte) []byte {
			return protocol.AppendPayload(dst, 1, protocol.FlagNext, nil, b("yz"))
		},
	},
}

// equalBytes compares two optional fields: nil and empty are different.
func equalBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// diffFrames returns "" when a and b are equal. Metadata and Token keep nil apart
// from empty; Data and the MIME types compare by content.
func diffFrames(got, want protocol.Frame) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w)) }
	if got.StreamID != want.StreamID {
		add("StreamID", got.StreamID, want.StreamID)
	}
	if got.Type != want.Type {
		add("Type", got.Type, want.Type)
	}
	if got.Flags != want.Flags {
		add("Flags", fmt.Sprintf("%#x", got.Flags), fmt.Sprintf("%#x", want.Flags))
	}
	if got.N != want.N {
		add("N", got.N, want.N)
	}
	if got.Code != want.Code {
		add("Code", got.Code, want.Code)
	}
	if !equalBytes(got.Metadata, want.Metadata) {
		add("Metadata", fmtOpt(got.Metadata), fmtOpt(want.Metadata))
	}
	if !bytes.Equal(got.Data, want.Data) {
		add("Data", fmt.Sprintf("%x", got.Data), fmt.Sprintf("%x", want.Data))
	}
	if got.Version != want.Version {
		add("Version", got.Version, want.Version)
	}
	if got.Keepalive != want.Keepalive {
		add("Keepalive", got.Keepalive, want.Keepalive)
	}
	if got.Lifetime != want.Lifetime {
		add("Lifetime", got.Lifetime, want.Lifetime)
	}
	if !equalBytes(got.Token, want.Token) {
		add("Token", fmtOpt(got.Token), fmtOpt(want.Token))
	}
	if !bytes.Equal(got.MetadataMIME, want.MetadataMIME) {
		add("MetadataMIME", string(got.MetadataMIME), string(want.MetadataMIME))
	}
	if !bytes.Equal(got.DataMIME, want.DataMIME) {
		add("DataMIME", string(got.DataMIME), string(want.DataMIME))
	}
	if got.Position != want.Position {
		add("Position", got.Position, want.Position)
	}
	if got.Position2 != want.Position2 {
		add("Position2", got.Position2, want.Position2)
	}
	if got.ExtType != want.ExtType {
		add("ExtType", got.ExtType, want.ExtType)
	}
	return strings.Join(d, "; ")
}

func fmtOpt(p []byte) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", p)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	p, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return p
}

func TestGoldenVectors(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			wire := mustHex(t, g.hex)
			f, err := protocol.Decode(wire)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := diffFrames(f, g.want); d != "" {
				t.Errorf("Decode: %s", d)
			}
			if got := g.enc(nil); !bytes.Equal(got, wire) {
				t.Errorf("Append* encoder:\n got %x\nwant %x", got, wire)
			}
			if got := f.Append(nil); !bytes.Equal(got, wire) {
				t.Errorf("(*Frame).Append of the decoded frame:\n got %x\nwant %x", got, wire)
			}
			want := g.want
			if got := want.Append(nil); !bytes.Equal(got, wire) {
				t.Errorf("(*Frame).Append of the table frame:\n got %x\nwant %x", got, wire)
			}
			// Appending after existing bytes leaves them alone.
			prefix := []byte{0xAA, 0xBB}
			if got := g.enc(prefix[:2:2]); !bytes.Equal(got[:2], prefix) || !bytes.Equal(got[2:], wire) {
				t.Errorf("encoder with a non-empty dst: got %x", got)
			}
			// The header agrees with Decode.
			id, typ, flags, err := protocol.DecodeHeader(wire)
			if err != nil || id != g.want.StreamID || typ != g.want.Type || flags != g.want.Flags {
				t.Errorf("DecodeHeader = %d %v %#x %v", id, typ, flags, err)
			}
		})
	}
}

func TestTCPLengthPrefix(t *testing.T) {
	// Digest section 18: the REQUEST_N vector behind a u24 length prefix (TCP).
	tcp := mustHex(t, "00000a00000001200000000005")
	n := int(tcp[0])<<16 | int(tcp[1])<<8 | int(tcp[2])
	if n != len(tcp)-3 {
		t.Fatalf("prefix says %d, frame has %d bytes", n, len(tcp)-3)
	}
	f, err := protocol.Decode(tcp[3:])
	if err != nil || f.Type != protocol.TypeRequestN || f.StreamID != 1 || f.N != 5 {
		t.Fatalf("Decode = %v, %v", &f, err)
	}
	ws := protocol.AppendRequestN(nil, 1, 5)
	if !bytes.Equal(tcp[3:], ws) {
		t.Fatalf("frame after the prefix %x, want %x", tcp[3:], ws)
	}
}

// ---- golden.json --------------------------------------------------------------

type jsonGolden struct {
	Name  string    `json:"name"`
	Hex   string    `json:"hex"`
	Frame jsonFrame `json:"frame"`
}

// jsonFrame keeps the key order of the documented format; RawMessage fields with
// omitempty are left out when nil and may hold null.
type jsonFrame struct {
	StreamID     uint32          `json:"streamId"`
	Type         uint8           `json:"type"`
	Flags        uint16          `json:"flags"`
	N            json.RawMessage `json:"n,omitempty"`
	Code         json.RawMessage `json:"code,omitempty"`
	Metadata     json.RawMessage `json:"metadata"`
	Data         string          `json:"data"`
	Version      json.RawMessage `json:"version,omitempty"`
	Keepalive    json.RawMessage `json:"keepalive,omitempty"`
	Lifetime     json.RawMessage `json:"lifetime,omitempty"`
	Token        json.RawMessage `json:"token,omitempty"`
	MetadataMIME json.RawMessage `json:"metadataMime,omitempty"`
	DataMIME     json.RawMessage `json:"dataMime,omitempty"`
	Position     json.RawMessage `json:"position,omitempty"`
	Position2    json.RawMessage `json:"position2,omitempty"`
	ExtType      json.RawMessage `json:"extType,omitempty"`
}

func rawJSON(v any) json.RawMessage {
	p, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return p
}

func hexOrNull(p []byte) json.RawMessage {
	if p == nil {
		return json.RawMessage("null")
	}
	return rawJSON(hex.EncodeToString(p))
}

func toJSON(f protocol.Frame) jsonFrame {
	j := jsonFrame{StreamID: f.StreamID, Type: uint8(f.Type), Flags: uint16(f.Flags),
		Metadata: hexOrNull(f.Metadata), Data: hex.EncodeToString(f.Data)}
	switch f.Type {
	case protocol.TypeSetup:
		j.Version, j.Keepalive, j.Lifetime = rawJSON(f.Version), rawJSON(f.Keepalive), rawJSON(f.Lifetime)
		j.Token = hexOrNull(f.Token)
		j.MetadataMIME, j.DataMIME = rawJSON(string(f.MetadataMIME)), rawJSON(string(f.DataMIME))
	case protocol.TypeLease:
		j.Keepalive, j.N = rawJSON(f.Keepalive), rawJSON(f.N)
	case protocol.TypeKeepalive, protocol.TypeResumeOK:
		j.Position = rawJSON(f.Position)
	case protocol.TypeRequestStream, protocol.TypeRequestChannel, protocol.TypeRequestN:
		j.N = rawJSON(f.N)
	case protocol.TypeError:
		j.Code = rawJSON(uint32(f.Code))
	case protocol.TypeResume:
		j.Version, j.Token = rawJSON(f.Version), hexOrNull(f.Token)
		j.Position, j.Position2 = rawJSON(f.Position), rawJSON(f.Position2)
	case protocol.TypeExt:
		j.ExtType = rawJSON(f.ExtType)
	}
	return j
}

func goldenJSON(t *testing.T) []byte {
	var out []jsonGolden
	for _, g := range goldens {
		if g.want.Position >= 1<<53 || g.want.Position2 >= 1<<53 {
			t.Fatalf("%s: position does not fit a JavaScript number", g.name)
		}
		out = append(out, jsonGolden{Name: g.name, Hex: g.hex, Frame: toJSON(g.want)})
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
		t.Fatalf("%v (run go test ./protocol -run TestGoldenJSON -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale; run go test ./protocol -run TestGoldenJSON -update", path)
	}
}

// TestGoldenJSONReadBack reads the file as a JS test would (generic JSON) and
// checks every object against Decode of its hex.
func TestGoldenJSONReadBack(t *testing.T) {
	p, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Skip(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(p, &objs); err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(goldens) {
		t.Fatalf("%d objects, want %d", len(objs), len(goldens))
	}
	for _, o := range objs {
		wire := mustHex(t, o["hex"].(string))
		f, err := protocol.Decode(wire)
		if err != nil {
			t.Fatalf("%v: %v", o["name"], err)
		}
		fr := o["frame"].(map[string]any)
		num := func(k string) float64 { return fr[k].(float64) }
		if num("streamId") != float64(f.StreamID) || num("type") != float64(f.Type) || num("flags") != float64(f.Flags) {
			t.Errorf("%v: header mismatch", o["name"])
		}
		md, _ := fr["metadata"].(string)
		if (fr["metadata"] == nil) != (f.Metadata == nil) || md != hex.EncodeToString(f.Metadata) {
			t.Errorf("%v: metadata %v, decoded %x (nil=%v)", o["name"], fr["metadata"], f.Metadata, f.Metadata == nil)
		}
		if fr["data"].(string) != hex.EncodeToString(f.Data) {
			t.Errorf("%v: data mismatch", o["name"])
		}
		for k, want := range map[string]any{"n": f.N, "code": uint32(f.Code), "version": f.Version,
			"keepalive": f.Keepalive, "lifetime": f.Lifetime, "position": f.Position,
			"position2": f.Position2, "extType": f.ExtType} {
			if v, ok := fr[k]; ok && v.(float64) != toF(want) {
				t.Errorf("%v: %s = %v, decoded %v", o["name"], k, v, want)
			}
		}
		if tok, ok := fr["token"]; ok {
			s, _ := tok.(string)
			if (tok == nil) != (f.Token == nil) || s != hex.EncodeToString(f.Token) {
				t.Errorf("%v: token %v, decoded %x", o["name"], tok, f.Token)
			}
		}
	}
}

func toF(v any) float64 {
	switch v := v.(type) {
	case uint32:
		return float64(v)
	case uint64:
		return float64(v)
	}
	panic(v)
}

// ---- round trips ----------------------------------------------------------------

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0x5A}, 0x010203) // u24 length with three non-zero bytes
	frames := []protocol.Frame{
		{Type: protocol.TypeSetup, Version: 2<<16 | 3, Keepalive: 1, Lifetime: protocol.MaxN,
			Token: []byte{}, MetadataMIME: []byte{}, DataMIME: b("x"), Flags: protocol.FlagResume},
		{Type: protocol.TypeSetup, Flags: protocol.FlagMetadata | protocol.FlagLease, Version: protocol.Version10,
			Keepalive: 20, Lifetime: 90, MetadataMIME: bytes.Repeat(b("a"), 255), DataMIME: b("b"),
			Metadata: []byte{}, Data: b("setup")},
		{Type: protocol.TypeLease, Keepalive: 0, N: 0},
		{Type: protocol.TypeLease, Flags: protocol.FlagMetadata, Keepalive: protocol.MaxN, N: protocol.MaxN, Metadata: []byte{}},
		{Type: protocol.TypeKeepalive, Flags: protocol.FlagRespond, Position: 1<<63 - 1, Data: big[:100]},
		{StreamID: protocol.MaxN, Type: protocol.TypeRequestResponse, Flags: protocol.FlagMetadata | protocol.FlagFollows,
			Metadata: big, Data: b("d")},
		{StreamID: 2, Type: protocol.TypeRequestFNF, Data: big},
		{StreamID: 9, Type: protocol.TypeRequestChannel, Flags: protocol.FlagMetadata | protocol.FlagComplete | protocol.FlagFollows,
			N: 1, Metadata: b("m"), Data: []byte{}},
		{StreamID: 1, Type: protocol.TypeRequestN, N: protocol.MaxN},
		{StreamID: 4, Type: protocol.TypePayload, Flags: protocol.FlagMetadata | protocol.FlagNext, Metadata: []byte{}, Data: []byte{}},
		{StreamID: 1, Type: protocol.TypeError, Code: 0xFFFFFFFF, Data: b("ünïcode")},
		{Type: protocol.TypeMetadataPush, Flags: protocol.FlagMetadata, Metadata: []byte{}},
		{Type: protocol.TypeResume, Version: protocol.Version10, Token: []byte{}, Position: 1, Position2: 2},
		{Type: protocol.TypeResume, Version: protocol.Version10, Token: bytes.Repeat(b("t"), 0xFFFF), Position: 1 << 40},
		{Type: protocol.TypeResumeOK, Position: 1<<63 - 1},
		{StreamID: 3, Type: protocol.TypeExt, Flags: protocol.FlagMetadata, ExtType: protocol.MaxN, Metadata: b("mm"), Data: b("dd")},
	}
	for i, f := range frames {
		t.Run(fmt.Sprintf("%d-%v", i, f.Type), func(t *testing.T) {
			wire := f.Append(nil)
			g, err := protocol.Decode(wire)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := diffFrames(g, f); d != "" {
				t.Fatalf("round trip: %s", d)
			}
			if again := g.Append(nil); !bytes.Equal(again, wire) {
				t.Fatalf("second Append differs")
			}
		})
	}
	// The u24 length is written big-endian in three bytes.
	wire := protocol.AppendPayload(nil, 1, protocol.FlagNext, big, nil)
	if got := wire[protocol.HeaderLen : protocol.HeaderLen+3]; !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("u24 metadata length = %x, want 010203", got)
	}
}

func TestNilVersusEmptyMetadata(t *testing.T) {
	absent := protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, b("d"))
	empty := protocol.AppendPayload(nil, 1, protocol.FlagNext, []byte{}, b("d"))
	if bytes.Equal(absent, empty) {
		t.Fatal("nil and empty metadata encode the same")
	}
	fa, _ := protocol.Decode(absent)
	fe, _ := protocol.Decode(empty)
	if fa.Metadata != nil || fa.HasMetadata() {
		t.Errorf("absent metadata decoded as %v (M=%v)", fmtOpt(fa.Metadata), fa.HasMetadata())
	}
	if fe.Metadata == nil || len(fe.Metadata) != 0 || !fe.HasMetadata() {
		t.Errorf("empty metadata decoded as %v (M=%v)", fmtOpt(fe.Metadata), fe.HasMetadata())
	}
	// M in the flags never overrides md: the encoders derive it.
	for _, wire := range [][]byte{
		protocol.AppendPayload(nil, 1, protocol.FlagNext|protocol.FlagMetadata, nil, b("d")),
		protocol.AppendRequest(nil, protocol.TypeRequestResponse, 1, protocol.FlagMetadata, nil, b("d")),
		protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, protocol.FlagMetadata, 1, nil, b("d")),
		protocol.AppendExt(nil, 1, protocol.FlagMetadata, 1, nil, b("d")),
	} {
		f, err := protocol.Decode(wire)
		if err != nil || f.HasMetadata() || f.Metadata != nil || string(f.Data) != "d" {
			t.Errorf("M flag without metadata leaked onto the wire: %x (%v)", wire, err)
		}
	}
	f := protocol.Frame{StreamID: 1, Type: protocol.TypePayload, Flags: protocol.FlagNext | protocol.FlagMetadata, Data: b("d")}
	if got, want := f.Append(nil), absent; !bytes.Equal(got, want) {
		t.Errorf("Frame.Append with M but nil Metadata = %x, want %x", got, want)
	}
	f.Flags, f.Metadata = protocol.FlagNext, []byte{}
	if got, want := f.Append(nil), empty; !bytes.Equal(got, want) {
		t.Errorf("Frame.Append with empty Metadata = %x, want %x", got, want)
	}
	// LEASE: no length field, so empty metadata is M with nothing after the fixed fields.
	l, _ := protocol.Decode(protocol.AppendLease(nil, 1, 1, []byte{}))
	if l.Metadata == nil || len(l.Metadata) != 0 {
		t.Errorf("LEASE empty metadata decoded as %v", fmtOpt(l.Metadata))
	}
	l, _ = protocol.Decode(protocol.AppendLease(nil, 1, 1, nil))
	if l.Metadata != nil {
		t.Errorf("LEASE absent metadata decoded as %v", fmtOpt(l.Metadata))
	}
}

func TestDecodeKeepsRawValues(t *testing.T) {
	// Stream ID: reserved bit masked. u31 quantities: kept for the receiver to reject.
	wire := mustHex(t, "80000001"+"2000"+"80000005")
	f, err := protocol.Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	if f.StreamID != 1 || f.N != 0x80000005 {
		t.Fatalf("StreamID=%#x N=%#x", f.StreamID, f.N)
	}
	if got := f.Append(nil); !bytes.Equal(got[4:], wire[4:]) || got[0] != 0 {
		t.Fatalf("Append = %x", got)
	}
	// The encoders clear the reserved bit.
	if got := protocol.AppendRequestN(nil, 1|1<<31, 0x80000005); !bytes.Equal(got, mustHex(t, "00000001200000000005")) {
		t.Fatalf("AppendRequestN = %x", got)
	}
	// SETUP on a stream other than 0 decodes and re-encodes unchanged.
	s := mustHex(t, goldens[0].hex)
	s[3] = 5
	f, err = protocol.Decode(s)
	if err != nil || f.StreamID != 5 {
		t.Fatalf("Decode = %v %v", &f, err)
	}
	if got := f.Append(nil); !bytes.Equal(got, s) {
		t.Fatalf("Append = %x, want %x", got, s)
	}
	// Unknown flag bits survive (rsocket-go's N on REQUEST_CHANNEL).
	rc := protocol.AppendRequestWithN(nil, protocol.TypeRequestChannel, 1, protocol.FlagNext, 1, nil, b("x"))
	f, _ = protocol.Decode(rc)
	if !f.Flags.Has(protocol.FlagNext) || !bytes.Equal(f.Append(nil), rc) {
		t.Fatalf("flags %#x", f.Flags)
	}
	// METADATA_PUSH without M: read anyway, M reported.
	mp := mustHex(t, "000000003000616263")
	f, err = protocol.Decode(mp)
	if err != nil || !f.HasMetadata() || string(f.Metadata) != "abc" {
		t.Fatalf("METADATA_PUSH without M: %v %v", &f, err)
	}
}

// ---- malformed input --------------------------------------------------------------

func checkErr(t *testing.T, wire []byte, ignorable bool) *protocol.Error {
	t.Helper()
	_, err := protocol.Decode(wire)
	if err == nil {
		t.Fatalf("Decode(%x) succeeded, want an error", wire)
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("Decode(%x) error %T %v, want *protocol.Error", wire, err, err)
	}
	if pe.Ignorable != ignorable {
		t.Fatalf("Decode(%x): Ignorable = %v, want %v (%v)", wire, pe.Ignorable, ignorable, err)
	}
	if pe.Error() == "" {
		t.Fatal("empty error text")
	}
	return pe
}

// TestTruncated cuts every golden frame at every length: every cut that removes
// part of the fixed fields or of the metadata fails; every cut that only shortens
// the trailing part (data, or LEASE/METADATA_PUSH metadata) decodes.
func TestTruncated(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			wire := mustHex(t, g.hex)
			tail := len(g.want.Data)
			if g.want.Type == protocol.TypeLease || g.want.Type == protocol.TypeMetadataPush {
				tail = len(g.want.Metadata)
			}
			minOK := len(wire) - tail
			for n := 0; n < len(wire); n++ {
				_, err := protocol.Decode(wire[:n])
				if n < minOK {
					checkErr(t, wire[:n], n >= protocol.HeaderLen && g.want.Flags.Has(protocol.FlagIgnore))
				} else if err != nil {
					t.Fatalf("Decode of %d bytes: %v", n, err)
				}
			}
		})
	}
	// Every known type with only its header: fails unless the type has no fixed fields.
	for typ := protocol.TypeSetup; typ <= protocol.TypeExt; typ++ {
		if !typ.Known() {
			continue
		}
		for _, flags := range []protocol.Flags{0, protocol.FlagMetadata, protocol.FlagIgnore | protocol.FlagMetadata} {
			wire := protocol.AppendHeader(nil, 1, typ, flags)
			_, err := protocol.Decode(wire)
			okEmpty := typ == protocol.TypeCancel || typ == protocol.TypeMetadataPush ||
				(typ == protocol.TypeRequestResponse || typ == protocol.TypeRequestFNF || typ == protocol.TypePayload) && flags&protocol.FlagMetadata == 0
			if okEmpty {
				if err != nil {
					t.Errorf("%v flags %#x header only: %v", typ, flags, err)
				}
				continue
			}
			checkErr(t, wire, flags.Has(protocol.FlagIgnore))
		}
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name      string
		hex       string
		ignorable bool
	}{
		{"empty", "", false},
		{"short header", "0000000128", false},
		{"unknown type 0x10", "00000001" + "4000", false},
		{"unknown type 0x10 with I", "00000001" + "4200" + "ff", true},
		{"reserved type 0", "00000001" + "0000", false},
		{"reserved type 0 with I", "00000001" + "0200", true},
		{"unknown type 0x3E with I and M", "00000000" + "fb00", true},
		{"metadata length past the end", "00000001" + "2920" + "000005" + "6d6d", false},
		{"metadata length past the end, I", "00000001" + "2b20" + "000005" + "6d6d", true},
		{"metadata length u24 max", "00000001" + "2920" + "ffffff" + "00", false},
		{"metadata length byte 2 only", "00000001" + "2920" + "00", false},
		{"request stream md past end", "00000001" + "1900" + "00000001" + "000100", false},
		{"ext md past end", "00000001" + "ff00" + "00000001" + "000002" + "00", true},
		{"setup resume token past the end", "00000000" + "0480" + "00010000" + "00000001" + "00000001" + "ffff" + "746b", false},
		{"setup resume token length cut", "00000000" + "0480" + "00010000" + "00000001" + "00000001" + "00", false},
		{"setup metadata mime past the end", "00000000" + "0400" + "00010000" + "00000001" + "00000001" + "05" + "6162", false},
		{"setup data mime missing", "00000000" + "0400" + "00010000" + "00000001" + "00000001" + "00", false},
		{"setup data mime past the end", "00000000" + "0400" + "00010000" + "00000001" + "00000001" + "00" + "ff61", false},
		{"setup metadata past the end", "00000000" + "0500" + "00010000" + "00000001" + "00000001" + "00" + "00" + "000009" + "6d", false},
		{"resume token past the end", "00000000" + "3400" + "00010000" + "0010" + "746b" + "0000000000000000" + "0000000000000000", false},
		{"resume positions cut", "00000000" + "3400" + "00010000" + "0000" + "0000000000000000" + "00000000000000", false},
		{"resume token length cut", "00000000" + "3400" + "00010000" + "00", false},
		{"error code cut", "00000001" + "2c00" + "000002", false},
		{"keepalive position cut", "00000000" + "0c80" + "00000000000000", false},
		{"resume ok cut", "00000000" + "3800" + "00", false},
		{"lease cut", "00000000" + "0800" + "000003e8" + "000000", false},
		{"request n cut", "00000001" + "2000" + "000000", false},
		{"ext type cut", "00000001" + "fe00" + "000000", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pe := checkErr(t, mustHex(t, c.hex), c.ignorable)
			if len(c.hex) >= 12 {
				id, typ, _, _ := protocol.DecodeHeader(mustHex(t, c.hex))
				if pe.StreamID != id || pe.Type != typ {
					t.Errorf("error names stream %d type %v, want %d %v", pe.StreamID, pe.Type, id, typ)
				}
			}
		})
	}
	// DecodeHeader alone.
	if _, _, _, err := protocol.DecodeHeader(make([]byte, 5)); err == nil {
		t.Error("DecodeHeader of 5 bytes succeeded")
	}
}

func TestFrameTypeStrings(t *testing.T) {
	for typ := protocol.FrameType(0); typ < 64; typ++ {
		s := typ.String()
		if s == "" {
			t.Errorf("type %d has an empty name", typ)
		}
		if typ.Known() == strings.HasPrefix(s, "UNKNOWN") && typ != protocol.TypeReserved {
			t.Errorf("type %d: Known=%v name %q", typ, typ.Known(), s)
		}
	}
	for _, g := range goldens {
		f, _ := protocol.Decode(mustHex(t, g.hex))
		if f.String() == "" || f.FlagString() == "" {
			t.Errorf("%s: empty String", g.name)
		}
	}
}

// ---- fuzz ---------------------------------------------------------------------

// FuzzDecode: Decode never panics, and every frame it accepts survives
// Append → Decode unchanged, with a stable encoding.
func FuzzDecode(f *testing.F) {
	for _, g := range goldens {
		f.Add(mustHex(f, g.hex))
	}
	f.Add([]byte{})
	f.Add(mustHex(f, "00000001420000"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		fr, err := protocol.Decode(wire)
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *protocol.Error", err)
			}
			if len(wire) >= protocol.HeaderLen && pe.Ignorable != (wire[4]&0x02 != 0) {
				t.Fatalf("Ignorable = %v for flags byte %#x", pe.Ignorable, wire[4])
			}
			return
		}
		_ = fr.String()
		wire2 := fr.Append(nil)
		if len(wire2) > len(wire) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(wire), len(wire2))
		}
		g, err := protocol.Decode(wire2)
		if err != nil {
			t.Fatalf("re-encoded frame %x does not decode: %v (from %x)", wire2, err, wire)
		}
		if d := diffFrames(g, fr); d != "" {
			t.Fatalf("round trip of %x via %x: %s", wire, wire2, d)
		}
		if wire3 := g.Append(nil); !bytes.Equal(wire3, wire2) {
			t.Fatalf("unstable encoding: %x then %x", wire2, wire3)
		}
	})
}

// ---- benchmarks -----------------------------------------------------------------

func BenchmarkDecodePayload(b *testing.B) {
	wire := protocol.AppendPayload(nil, 7, protocol.FlagNext, make([]byte, 16), make([]byte, 128))
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		f, err := protocol.Decode(wire)
		if err != nil || len(f.Data) != 128 {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	md, data := make([]byte, 16), make([]byte, 128)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(protocol.AppendPayload(nil, 7, protocol.FlagNext, md, data))))
	for b.Loop() {
		buf = protocol.AppendPayload(buf[:0], 7, protocol.FlagNext, md, data)
	}
}

func TestZeroAllocs(t *testing.T) {
	wire := protocol.AppendPayload(nil, 7, protocol.FlagNext, make([]byte, 16), make([]byte, 128))
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _, _ = protocol.Decode(wire) }); n != 0 {
		t.Errorf("Decode: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = protocol.AppendPayload(buf[:0], 7, protocol.FlagNext, wire[:16], wire) }); n != 0 {
		t.Errorf("AppendPayload: %v allocs", n)
	}
}

// ---- leak check -----------------------------------------------------------------

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
