package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// schemaPath is the gateway's GraphQL schema, in this repository.
const schemaPath = "../../../graph/schema.graphqls"

// The operations orderflowctl sends, and the variables it sends with them,
// are valid against the gateway's schema: the fake gateway of the other
// tests would not notice a field that the schema renamed.
func TestOperationsMatchTheSchema(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(schemaPath)
	require.NoError(t, err)
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	require.NoError(t, err)
	tests := []struct {
		name  string
		query string
		vars  []map[string]any
	}{
		{name: "list", query: listQuery, vars: []map[string]any{
			{},
			{"first": 200, "after": "c", "service": "payment", "topic": "t", "reason": "r", "kind": "DEAD_LETTER", "state": "REPLAYED"},
			{"kind": "PARKED", "state": "WAITING"},
			{"state": "REPLAYING"},
			{"state": "DISCARDED"},
		}},
		{name: "show", query: showQuery, vars: []map[string]any{{"id": "payment:7"}}},
		{name: "replay", query: replayOneQuery, vars: []map[string]any{{"id": "payment:7"}}},
		{name: "replay all", query: replayAllQuery, vars: []map[string]any{
			{"filter": map[string]any{}},
			{"filter": map[string]any{"service": "order", "topic": "t", "reason": "r", "kind": "PARKED"}},
		}},
		{name: "discard", query: discardQuery, vars: []map[string]any{{"id": "payment:7", "note": "why"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(schema, tt.query)
			require.Empty(t, errs)
			require.Len(t, doc.Operations, 1)
			for _, vars := range tt.vars {
				_, err := validator.VariableValues(schema, doc.Operations[0], vars)
				require.NoError(t, err, "variables %v", vars)
			}
		})
	}
}
