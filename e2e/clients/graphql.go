package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// GraphQL posts operations to a GraphQL endpoint as the customer whose
// token it holds.
type GraphQL struct {
	URL  string
	HTTP *http.Client
	// Token is sent as "Authorization: Bearer <Token>"; empty sends none.
	Token string
}

// As returns the client with another token.
func (g GraphQL) As(token string) GraphQL {
	g.Token = token
	return g
}

// GraphQLError is one entry of a response's "errors".
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e GraphQLError) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// Response is a GraphQL answer with its HTTP status and headers.
type Response struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// Err summarises the response's errors, nil if there are none.
func (r Response) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	parts := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		parts[i] = e.Code() + ": " + e.Message
	}
	return fmt.Errorf("graphql: %s", strings.Join(parts, "; "))
}

// Do sends query with variables and decodes data into out (may be nil). A
// transport failure is an error; GraphQL errors are in the Response.
func (g GraphQL) Do(ctx context.Context, query string, vars map[string]any, out any) (Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return Response{}, err
	}
	return g.Raw(ctx, "application/json", body, out)
}

// Raw posts body as it is, for requests that are broken on purpose.
func (g GraphQL) Raw(ctx context.Context, contentType string, body []byte, out any) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", contentType)
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	hc := g.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("answer %d is not GraphQL JSON: %.200s", resp.StatusCode, b)
	}
	if out != nil && len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return r, fmt.Errorf("decode data: %w", err)
		}
	}
	return r, nil
}
