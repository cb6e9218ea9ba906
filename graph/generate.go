package graph

// gqlgen runs from the module cache at the version pinned by the tool
// directive in go.mod, so this works offline once the module is downloaded.
//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml
