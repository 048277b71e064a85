package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const testSecret = "3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7"

func testToken() Token {
	return newToken(testSecret, "accessor-1", "consul/creds/orders/abc", time.Minute, true, time.Time{})
}

func TestTokenHidesSecret(t *testing.T) {
	tok := testToken()
	type wrapper struct {
		inner Token // unexported: fmt cannot call its methods
		Outer Token
		ptr   *Token
	}
	w := wrapper{inner: tok, Outer: tok, ptr: &tok}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("token", slog.Any("token", tok), slog.Any("wrapper", w))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("token", "token", tok, "pointer", &tok)
	jsonBytes, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", tok),
		"%+v":        fmt.Sprintf("%+v", tok),
		"%#v":        fmt.Sprintf("%#v", tok),
		"%s":         fmt.Sprintf("%s", tok),
		"%v ptr":     fmt.Sprintf("%v", &tok),
		"%v nested":  fmt.Sprintf("%v", w),
		"%+v nested": fmt.Sprintf("%+v", w),
		"%#v nested": fmt.Sprintf("%#v", w),
		"slog":       logs.String(),
		"json":       string(jsonBytes),
	}
	for name, out := range outputs {
		if strings.Contains(out, testSecret) {
			t.Errorf("%s output contains the secret ID: %s", name, out)
		}
	}
	if !strings.Contains(outputs["slog"], "accessor-1") {
		t.Errorf("slog output lacks the accessor ID: %s", outputs["slog"])
	}
	if got := tok.SecretID(); got != testSecret {
		t.Errorf("SecretID() = %q, want the secret", got)
	}
}

func TestTokenIsZero(t *testing.T) {
	if !(Token{}).IsZero() {
		t.Error("zero Token is not zero")
	}
	if testToken().IsZero() {
		t.Error("issued Token is zero")
	}
}

func TestRedactSecret(t *testing.T) {
	tok := testToken()
	cause := errors.New("request with token " + testSecret + " failed")
	err := redactSecret(cause, tok)
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("redactSecret kept the secret: %q", err)
	}
	if errors.Is(err, cause) {
		t.Error("the redacted error still wraps the cause that contains the secret")
	}
	plain := errors.New("connection refused")
	if got := redactSecret(plain, tok); got != plain {
		t.Errorf("redactSecret changed an error without the secret: %v", got)
	}
	if redactSecret(nil, tok) != nil {
		t.Error("redactSecret(nil) is not nil")
	}
}
