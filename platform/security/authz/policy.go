package authz

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Policy is a parsed authorization file. A Policy is read-only after Load,
// so it is safe for concurrent use.
type Policy struct {
	file      string
	services  map[string]int              // service -> line of its declaration
	endpoints map[string]map[string]*rule // service -> endpoint -> callers
	topics    map[string]*topicRule       // topic -> publishers and subscribers
}

type rule struct {
	allowed map[string]bool
	line    int
}

type topicRule struct {
	publishers, subscribers map[string]bool
	line                    int
}

// DeniedError is returned when the policy does not allow an action.
type DeniedError struct {
	Caller string // verified identity of the caller, publisher or subscriber
	Action string // "call", "publish" or "receive"
	Target string // "<service> <endpoint>" or the topic
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("authz: %s may not %s %s", e.Caller, e.Action, e.Target)
}

// AllowCall returns nil when caller may call endpoint of service, and a
// *DeniedError otherwise.
func (p *Policy) AllowCall(caller, service, endpoint string) error {
	if r := p.endpoints[service][endpoint]; r != nil && r.allowed[caller] {
		return nil
	}
	return &DeniedError{Caller: caller, Action: "call", Target: service + " " + endpoint}
}

// AllowPublish returns nil when publisher may publish to topic.
func (p *Policy) AllowPublish(publisher, topic string) error {
	if t := p.topics[topic]; t != nil && t.publishers[publisher] {
		return nil
	}
	return &DeniedError{Caller: publisher, Action: "publish", Target: "topic " + topic}
}

// AllowSubscribe returns nil when subscriber may receive messages of topic.
func (p *Policy) AllowSubscribe(subscriber, topic string) error {
	if t := p.topics[topic]; t != nil && t.subscribers[subscriber] {
		return nil
	}
	return &DeniedError{Caller: subscriber, Action: "receive", Target: "topic " + topic}
}

// Services returns the declared service identities, sorted.
func (p *Policy) Services() []string {
	names := make([]string, 0, len(p.services))
	for name := range p.services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// CheckEndpoints returns an error naming the file and line of every endpoint
// that the policy lists for service but that is not in served, the
// endpoints the service registered. A listed endpoint that nothing serves is
// a typo that would otherwise deny a call silently.
func (p *Policy) CheckEndpoints(service string, served []string) error {
	var missing []string
	for endpoint, r := range p.endpoints[service] {
		if !slices.Contains(served, endpoint) {
			missing = append(missing, fmt.Sprintf("%s:%d: service %s has no endpoint %s",
				p.file, r.line, service, endpoint))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("authz: unknown endpoints (served: %s):\n%s", strings.Join(served, ", "),
		strings.Join(missing, "\n"))
}
