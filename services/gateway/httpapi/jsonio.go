package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// decodeJSON reads the body of r into dst strictly: the content type must be
// application/json, the body must fit the size limit, contain exactly one
// JSON object, name only known fields and use the right types.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || mediaType != "application/json" {
			return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
				message: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
		}
	} else {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			message: "Content-Type is missing; send application/json"}
	}

	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, maxBytes)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge(maxBytes)
		}
		return badRequest("", "the body must contain a single JSON object and nothing after it")
	}
	return nil
}

func decodeError(err error, maxBytes int64) *apiError {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxBytes)
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the body ends in the middle of the JSON; send a complete JSON object")
	case errors.As(err, &syntaxErr):
		return badRequest("", fmt.Sprintf("the body is not valid JSON (error at byte %d)", syntaxErr.Offset))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("", fmt.Sprintf("the body must be a JSON object, not a JSON %s", typeErr.Value))
		}
		return badRequest(typeErr.Field, fmt.Sprintf("must be a JSON %s, not a %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value))
	}
	// encoding/json reports an unknown field only as text: json: unknown field "x".
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(strings.Trim(name, `"`), "is not a known field; remove it")
	}
	return badRequest("", "the body could not be decoded as JSON")
}

// jsonType names a Go kind in JSON terms.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	default:
		return "object"
	}
}

func tooLarge(maxBytes int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
		message: fmt.Sprintf("the body is larger than %d bytes", maxBytes)}
}

// writeJSON writes v with status and the headers every response carries.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	// The client is gone or the connection broke; nothing more can be sent.
	_ = enc.Encode(v)
}
