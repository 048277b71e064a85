package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Groups are the check groups in the order they run.
var Groups = []string{"registry", "mtls", "certs", "limits", "vault"}

// Result is the outcome of one check.
type Result struct {
	Group    string `json:"group"`    // one of Groups
	Check    string `json:"check"`    // the protection, e.g. "plaintext gRPC rejected (inventory 127.0.0.1:4000)"
	Pass     bool   `json:"pass"`     // whether the protection held
	Evidence string `json:"evidence"` // the stack's response, in one line
}

func pass(group, check, evidence string) Result {
	return Result{Group: group, Check: check, Pass: true, Evidence: oneLine(evidence)}
}

func fail(group, check, evidence string) Result {
	return Result{Group: group, Check: check, Pass: false, Evidence: oneLine(evidence)}
}

// maxEvidence bounds the evidence of one result, in bytes.
const maxEvidence = 300

// oneLine collapses white space and shortens text to maxEvidence bytes.
func oneLine(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxEvidence {
		text = text[:maxEvidence] + "..."
	}
	if text == "" {
		return "(no evidence)"
	}
	return text
}

// Failed reports whether any result did not pass.
func Failed(results []Result) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return !r.Pass })
}

// WriteText prints one line per result: "PASS|FAIL  group  check  evidence".
// The columns are separated by two spaces.
func WriteText(w io.Writer, results []Result) error {
	for _, r := range results {
		status := "FAIL"
		if r.Pass {
			status = "PASS"
		}
		if _, err := fmt.Fprintf(w, "%s  %s  %s  %s\n", status, r.Group, r.Check, r.Evidence); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON prints the results as one JSON array of
// {group, check, pass, evidence} objects.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(results)
}
