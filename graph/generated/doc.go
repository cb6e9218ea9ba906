// Package generated is gqlgen's executable schema for graph/schema.graphqls.
// Do not edit it: change the schema or gqlgen.yml and run `go generate
// ./...` in graph/ (this file survives regeneration; generated.go does not).
package generated
