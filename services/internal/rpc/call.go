package rpc

import (
	"context"
	"errors"

	"go-micro.dev/v4/client"
)

// Call sends req to endpoint of service through c with ContentType and
// decodes the response into a new Rsp. Setting the content type on each
// request keeps calls working with a client built without
// client.ContentType(ContentType).
func Call[Rsp any](ctx context.Context, c client.Client, service, endpoint string, req any,
	opts ...client.CallOption) (*Rsp, error) {
	rsp := new(Rsp)
	r := c.NewRequest(service, endpoint, req, client.WithContentType(ContentType))
	if err := c.Call(ctx, r, rsp, opts...); err != nil {
		return nil, err
	}
	return rsp, nil
}

// Publisher publishes events through a go-micro client with
// EventContentType.
type Publisher struct {
	client client.Client
}

// NewPublisher returns a Publisher on c.
func NewPublisher(c client.Client) (*Publisher, error) {
	if c == nil {
		return nil, errors.New("rpc: go-micro client is nil")
	}
	return &Publisher{client: c}, nil
}

// Publish sends msg on topic.
func (p *Publisher) Publish(ctx context.Context, topic string, msg any) error {
	m := p.client.NewMessage(topic, msg, client.WithMessageContentType(EventContentType))
	return p.client.Publish(ctx, m)
}
