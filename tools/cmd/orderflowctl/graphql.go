package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// gateway speaks GraphQL to the gateway with a bearer token.
type gateway struct {
	url   string
	token string
	hc    *http.Client
}

// gqlError is one error of a GraphQL answer.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"extensions"`
}

// apiError is the gateway's refusal: its errors, code first.
type apiError []gqlError

func (e apiError) Error() string {
	parts := make([]string, len(e))
	for i, g := range e {
		parts[i] = g.Message
		if g.Extensions.Code != "" {
			parts[i] = g.Extensions.Code + ": " + g.Message
		}
	}
	return strings.Join(parts, "; ")
}

// do runs one operation and decodes its data into out.
func (g *gateway) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("-gateway %s: %w", g.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("the gateway at %s did not answer (is it running? `make run` starts it): %w", g.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the gateway's answer: %w", err)
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors apiError        `json:"errors"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("the gateway at %s answered %s, not GraphQL: %.200s", g.url, resp.Status, b)
	}
	if len(answer.Errors) > 0 {
		return answer.Errors
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the gateway at %s answered %s", g.url, resp.Status)
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		return fmt.Errorf("decode the gateway's answer: %w", err)
	}
	return nil
}

// connect returns the gateway client of the global flags.
func (g *globals) connect() (*gateway, error) {
	token, err := g.adminToken()
	if err != nil {
		return nil, err
	}
	return &gateway{url: g.gateway, token: token, hc: &http.Client{Timeout: time.Minute}}, nil
}
