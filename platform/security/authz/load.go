package authz

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// endpointPattern is the go-micro endpoint form Handler.Method.
var endpointPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)

// topicPattern allows the topic names that go-micro's brokers accept as
// Consul metadata and URL query values.
var topicPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// Load reads and validates the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authz: read policy: %w", err)
	}
	return Parse(path, data)
}

// Parse validates a policy read from file. file names the source in errors.
func Parse(file string, data []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("authz: %s: %w", file, err)
	}
	p := &Policy{
		file:      file,
		services:  map[string]int{},
		endpoints: map[string]map[string]*rule{},
		topics:    map[string]*topicRule{},
	}
	v := &validator{file: file}

	if len(root.Content) == 0 {
		return nil, fmt.Errorf("authz: %s is empty; declare services and endpoints", file)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, v.errorf(doc, "the top level must be a mapping with services, endpoints and topics")
	}

	var endpointsNode, topicsNode *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, value := doc.Content[i], doc.Content[i+1]
		switch key.Value {
		case "services":
			v.services(p, value)
		case "endpoints":
			endpointsNode = value
		case "topics":
			topicsNode = value
		default:
			v.add(key, "unknown key %q; use services, endpoints or topics", key.Value)
		}
	}

	if len(p.services) == 0 && len(v.errs) == 0 {
		v.add(doc, "no services declared; list every service identity under services")
	}
	if endpointsNode != nil {
		v.endpoints(p, endpointsNode)
	}
	if topicsNode != nil {
		v.topics(p, topicsNode)
	}
	if len(v.errs) > 0 {
		return nil, fmt.Errorf("authz: invalid policy:\n%w", errors.Join(v.errs...))
	}
	return p, nil
}

// validator collects every error of a file with its line.
type validator struct {
	file string
	errs []error
}

func (v *validator) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", v.file, n.Line, fmt.Sprintf(format, args...))
}

func (v *validator) add(n *yaml.Node, format string, args ...any) {
	v.errs = append(v.errs, v.errorf(n, format, args...))
}

func (v *validator) services(p *Policy, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		v.add(n, "services must be a list of service names")
		return
	}
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			v.add(item, "a service must be a name")
			continue
		}
		if err := identity.ValidateName(item.Value); err != nil {
			v.add(item, "%v", err)
			continue
		}
		if line, dup := p.services[item.Value]; dup {
			v.add(item, "service %s is already declared on line %d", item.Value, line)
			continue
		}
		p.services[item.Value] = item.Line
	}
}

func (v *validator) endpoints(p *Policy, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		v.add(n, "endpoints must map each service to its endpoints")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		svcNode, list := n.Content[i], n.Content[i+1]
		service := svcNode.Value
		if !v.known(p, svcNode) {
			continue
		}
		if _, dup := p.endpoints[service]; dup {
			v.add(svcNode, "service %s already has an endpoints entry", service)
			continue
		}
		rules := map[string]*rule{}
		p.endpoints[service] = rules
		if list.Kind != yaml.MappingNode {
			v.add(list, "endpoints of %s must map each endpoint to its callers", service)
			continue
		}
		for j := 0; j+1 < len(list.Content); j += 2 {
			epNode, callers := list.Content[j], list.Content[j+1]
			if !endpointPattern.MatchString(epNode.Value) {
				v.add(epNode, "endpoint %q of %s is not of the form Handler.Method", epNode.Value, service)
				continue
			}
			if r, dup := rules[epNode.Value]; dup {
				v.add(epNode, "endpoint %s of %s is already listed on line %d", epNode.Value, service, r.line)
				continue
			}
			rules[epNode.Value] = &rule{allowed: v.names(p, callers, "callers of "+service+" "+epNode.Value), line: epNode.Line}
		}
	}
}

func (v *validator) topics(p *Policy, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		v.add(n, "topics must map each topic to its publishers and subscribers")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		topicNode, body := n.Content[i], n.Content[i+1]
		topic := topicNode.Value
		if !topicPattern.MatchString(topic) {
			v.add(topicNode, "topic %q must be lowercase letters, digits, dots, hyphens and underscores", topic)
			continue
		}
		if t, dup := p.topics[topic]; dup {
			v.add(topicNode, "topic %s is already listed on line %d", topic, t.line)
			continue
		}
		t := &topicRule{publishers: map[string]bool{}, subscribers: map[string]bool{}, line: topicNode.Line}
		p.topics[topic] = t
		if body.Kind != yaml.MappingNode {
			v.add(body, "topic %s must have publishers and subscribers", topic)
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			key, list := body.Content[j], body.Content[j+1]
			switch key.Value {
			case "publishers":
				t.publishers = v.names(p, list, "publishers of "+topic)
			case "subscribers":
				t.subscribers = v.names(p, list, "subscribers of "+topic)
			default:
				v.add(key, "unknown key %q in topic %s; use publishers or subscribers", key.Value, topic)
			}
		}
	}
}

// names reads a list of declared service names.
func (v *validator) names(p *Policy, n *yaml.Node, what string) map[string]bool {
	set := map[string]bool{}
	if n.Kind != yaml.SequenceNode {
		v.add(n, "%s must be a list of service names", what)
		return set
	}
	if len(n.Content) == 0 {
		v.add(n, "%s is an empty list; remove the entry to deny everyone", what)
	}
	for _, item := range n.Content {
		if !v.known(p, item) {
			continue
		}
		if set[item.Value] {
			v.add(item, "%s lists %s twice", what, item.Value)
		}
		set[item.Value] = true
	}
	return set
}

// known reports whether n names a declared service, and records an error
// naming the line when it does not.
func (v *validator) known(p *Policy, n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		v.add(n, "expected a service name")
		return false
	}
	if _, ok := p.services[n.Value]; !ok {
		v.add(n, "unknown service %q; declare it under services (declared: %s)", n.Value,
			strings.Join(p.Services(), ", "))
		return false
	}
	return true
}
