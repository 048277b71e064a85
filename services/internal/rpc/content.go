package rpc

const (
	// ContentType is the content type of every request between services. The
	// go-micro gRPC client (client/grpc v1.2.1) maps it to its JSON codec and
	// sends gRPC content-subtype "json", so the server (server/grpc v1.2.0)
	// decodes the body with encoding/json into the handler's plain struct.
	// The client's default, application/grpc+proto, accepts only protobuf
	// messages and fails on plain structs.
	ContentType = "application/grpc+json"

	// EventContentType is the content type of every published event. The
	// go-micro broker codecs know application/json and would otherwise pick
	// protobuf, which fails on plain structs.
	EventContentType = "application/json"
)
