package bootstrap

import (
	"fmt"
	"io"
	"log/slog"
)

// Status is the outcome of a step for one object.
type Status string

// Statuses a step reports.
const (
	Created   Status = "created"
	Updated   Status = "updated"
	Unchanged Status = "unchanged"
)

// Change is one object that a step checked, such as a certificate file, a
// PKI role or an ACL policy. Object never contains a secret.
type Change struct {
	Step   string
	Object string
	Status Status
}

// Result lists every object a phase checked, in order.
type Result struct {
	Changes []Change
}

// Changed reports whether any object was created or updated.
func (r Result) Changed() bool {
	return r.Count() > 0
}

// Count returns the number of objects created or updated.
func (r Result) Count() int {
	n := 0
	for _, c := range r.Changes {
		if c.Status != Unchanged {
			n++
		}
	}
	return n
}

// StepError is a failed step: what failed and what the operator should do.
type StepError struct {
	Step string
	Err  error
	Fix  string
}

// Error returns the step, the cause and the fix.
func (e *StepError) Error() string {
	if e.Fix == "" {
		return fmt.Sprintf("bootstrap: step %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("bootstrap: step %s: %v; fix: %s", e.Step, e.Err, e.Fix)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// recorder collects the changes of one phase and echoes them to the report
// writer and the log.
type recorder struct {
	result Result
	out    io.Writer
	log    *slog.Logger
}

func (r *recorder) record(step, object string, status Status) {
	r.result.Changes = append(r.result.Changes, Change{Step: step, Object: object, Status: status})
	fmt.Fprintf(r.out, "%-22s %-40s %s\n", step, object, status)
	r.log.Debug("bootstrap object checked", "step", step, "object", object, "status", string(status))
}

// recordWrite records Created when the object did not exist before, Updated
// when it did and changed, and Unchanged otherwise.
func (r *recorder) recordWrite(step, object string, existed, wrote bool) {
	switch {
	case !wrote:
		r.record(step, object, Unchanged)
	case existed:
		r.record(step, object, Updated)
	default:
		r.record(step, object, Created)
	}
}

// summarize prints the closing line of a phase.
func (r *recorder) summarize(phase string) {
	if n := r.result.Count(); n > 0 {
		fmt.Fprintf(r.out, "%s: %d changes\n", phase, n)
		return
	}
	fmt.Fprintf(r.out, "%s: no changes\n", phase)
}

// fail wraps err as the failure of step with a fix.
func fail(step string, err error, fix string) error {
	return &StepError{Step: step, Err: err, Fix: fix}
}
