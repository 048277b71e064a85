package verify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var sample = []Result{
	pass("registry", "plaintext HTTP rejected", "HTTP 400:\n Client sent an HTTP request"),
	fail("mtls", "plaintext gRPC rejected (inventory 127.0.0.1:1)", "the server answered: a->b"),
}

func TestWriteText(t *testing.T) {
	var out bytes.Buffer
	if err := WriteText(&out, sample); err != nil {
		t.Fatal(err)
	}
	want := "PASS  registry  plaintext HTTP rejected  HTTP 400: Client sent an HTTP request\n" +
		"FAIL  mtls  plaintext gRPC rejected (inventory 127.0.0.1:1)  the server answered: a->b\n"
	if out.String() != want {
		t.Errorf("WriteText =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var out bytes.Buffer
	if err := WriteJSON(&out, sample); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "a->b") {
		t.Errorf("WriteJSON escaped the evidence: %s", out.String())
	}
	var decoded []map[string]any
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("WriteJSON output is not a JSON array: %v\n%s", err, out.String())
	}
	if len(decoded) != 2 {
		t.Fatalf("got %d objects, want 2", len(decoded))
	}
	for _, key := range []string{"group", "check", "pass", "evidence"} {
		if _, ok := decoded[1][key]; !ok {
			t.Errorf("object has no %q key: %v", key, decoded[1])
		}
	}
	if decoded[1]["pass"] != false || decoded[0]["pass"] != true {
		t.Errorf("pass fields = %v, %v; want true, false", decoded[0]["pass"], decoded[1]["pass"])
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	var out bytes.Buffer
	if err := WriteJSON(&out, nil); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("WriteJSON(nil) = %q, want []", out.String())
	}
}

func TestFailed(t *testing.T) {
	if !Failed(sample) {
		t.Error("Failed = false with a FAIL result")
	}
	if Failed(sample[:1]) {
		t.Error("Failed = true with only PASS results")
	}
}

func TestOneLineBounds(t *testing.T) {
	got := oneLine(strings.Repeat("x", 2*maxEvidence))
	if len(got) != maxEvidence+len("...") {
		t.Errorf("len(oneLine) = %d, want %d", len(got), maxEvidence+3)
	}
}
