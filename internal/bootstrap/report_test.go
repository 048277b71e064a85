package bootstrap

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRecorderSummary(t *testing.T) {
	tests := []struct {
		desc     string
		statuses []Status
		want     string
	}{
		{"nothing changed", []Status{Unchanged, Unchanged}, "configure: no changes\n"},
		{"one created", []Status{Unchanged, Created}, "configure: 1 changes\n"},
		{"created and updated", []Status{Updated, Created}, "configure: 2 changes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out bytes.Buffer
			rec := &recorder{out: &out, log: slog.New(slog.DiscardHandler)}
			for _, s := range tt.statuses {
				rec.record("step", "object", s)
			}
			rec.summarize("configure")
			if !strings.HasSuffix(out.String(), tt.want) {
				t.Fatalf("output ends %q, want %q", out.String(), tt.want)
			}
			if got := strings.Count(out.String(), "\n"); got != len(tt.statuses)+1 {
				t.Errorf("output has %d lines, want one per object plus the summary", got)
			}
		})
	}
}

func TestRecordWrite(t *testing.T) {
	tests := []struct {
		existed, wrote bool
		want           Status
	}{
		{false, true, Created},
		{true, true, Updated},
		{true, false, Unchanged},
	}
	for _, tt := range tests {
		rec := &recorder{out: &bytes.Buffer{}, log: slog.New(slog.DiscardHandler)}
		rec.recordWrite("s", "o", tt.existed, tt.wrote)
		if got := rec.result.Changes[0].Status; got != tt.want {
			t.Errorf("recordWrite(existed=%v, wrote=%v) = %s, want %s", tt.existed, tt.wrote, got, tt.want)
		}
	}
}

func TestStepError(t *testing.T) {
	cause := errors.New("connection refused")
	err := fail("vault-init", cause, "start Vault")
	if got, want := err.Error(), "bootstrap: step vault-init: connection refused; fix: start Vault"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("StepError does not unwrap to its cause")
	}
	var stepErr *StepError
	if !errors.As(err, &stepErr) || stepErr.Step != "vault-init" {
		t.Errorf("errors.As: %v", err)
	}
	if got := fail("x", cause, "").Error(); strings.Contains(got, "fix:") {
		t.Errorf("Error() without a fix = %q", got)
	}
}
