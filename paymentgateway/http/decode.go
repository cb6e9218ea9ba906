package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
)

// idempotencyKey reads the request's key, or answers 400 and returns false.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.Header.Get(idempotency.Header)
	if err := idempotency.ValidateKey(key); err != nil {
		code := "idempotency_key_invalid"
		if key == "" {
			code = "idempotency_key_missing"
		}
		reject(w, http.StatusBadRequest, code, idempotency.Header, err.Error())
		return "", false
	}
	return key, true
}

// decode reads one JSON object into v, refusing unknown fields, or answers
// 4xx naming the problem and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return true
	}

	var (
		tooLarge   *http.MaxBytesError
		syntaxErr  *json.SyntaxError
		typeErr    *json.UnmarshalTypeError
		unknownKey = strings.HasPrefix(err.Error(), "json: unknown field ")
	)
	switch {
	case errors.As(err, &tooLarge):
		reject(w, http.StatusRequestEntityTooLarge, "request_too_large", "",
			fmt.Sprintf("The request body must be at most %d bytes.", maxBody))
	case errors.Is(err, io.EOF):
		reject(w, http.StatusBadRequest, "invalid_json", "", "The request body is empty: send a JSON object.")
	case errors.As(err, &syntaxErr):
		reject(w, http.StatusBadRequest, "invalid_json", "",
			fmt.Sprintf("The request body is not valid JSON (at byte %d): send one JSON object.", syntaxErr.Offset))
	case errors.As(err, &typeErr) && typeErr.Field != "":
		reject(w, http.StatusBadRequest, "parameter_invalid", typeErr.Field,
			fmt.Sprintf("%s must be a JSON %s, not %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case unknownKey:
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		reject(w, http.StatusBadRequest, "parameter_unknown", name,
			fmt.Sprintf("Received unknown parameter %q.", name))
	default:
		reject(w, http.StatusBadRequest, "invalid_json", "",
			"The request body must be a single JSON object.")
	}
	return false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32":
		return "integer"
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	}
	return goKind
}
