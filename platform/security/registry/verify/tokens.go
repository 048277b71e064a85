package verify

import (
	"context"
	"fmt"
)

// checkServiceToken checks that a service's token may register its own name
// and nothing else: no other service's name, no KV key, no ACL or operator
// change.
func (p *prober) checkServiceToken(ctx context.Context, name, token string, others []string) []Result {
	return []Result{
		p.checkOwnName(ctx, name, token),
		p.checkOtherNames(ctx, name, token, others),
		p.checkOtherWrites(ctx, name, token),
	}
}

func (p *prober) checkOwnName(ctx context.Context, name, token string) Result {
	check := fmt.Sprintf("token of %s may register %s", name, name)
	decisions, err := p.authorize(ctx, token, []authorization{{Resource: "service", Segment: name, Access: "write"}})
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	if !decisions[0].Allow {
		return fail(check, describe(decisions))
	}
	return pass(check, describe(decisions))
}

// checkOtherNames registers the probe name for real, and queries Consul's
// authorization of the other services' names, which a real write must not
// touch.
func (p *prober) checkOtherNames(ctx context.Context, name, token string, others []string) Result {
	check := fmt.Sprintf("token of %s rejected for other names", name)
	probe := p.expectRegistrationRejected(ctx, check, token)
	if probe.Status == Fail {
		return probe
	}
	if len(others) == 0 {
		return pass(check, "probe registration: "+probe.Evidence)
	}

	requests := make([]authorization, 0, len(others))
	for _, other := range others {
		requests = append(requests, authorization{Resource: "service", Segment: other, Access: "write"})
	}
	decisions, err := p.authorize(ctx, token, requests)
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	for _, a := range decisions {
		if a.Allow {
			return fail(check, describe(decisions))
		}
	}
	return pass(check, "probe registration: "+probe.Evidence+"; "+describe(decisions))
}

// checkOtherWrites writes the probe key for real and queries Consul's
// authorization of ACL and operator writes.
func (p *prober) checkOtherWrites(ctx context.Context, name, token string) Result {
	check := fmt.Sprintf("token of %s rejected for KV, ACL and operator writes", name)
	kv := p.expectKVWriteRejected(ctx, check, token)
	if kv.Status == Fail {
		return kv
	}
	decisions, err := p.authorize(ctx, token, []authorization{
		{Resource: "acl", Access: "write"},
		{Resource: "operator", Access: "write"},
		{Resource: "key", Segment: "", Access: "write"},
	})
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	for _, a := range decisions {
		if a.Allow {
			return fail(check, describe(decisions))
		}
	}
	return pass(check, "probe key: "+kv.Evidence+"; "+describe(decisions))
}
