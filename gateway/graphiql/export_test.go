package graphiql

import (
	"io/fs"
	"net/http"
)

// NewHandler lets the external tests serve a file system of their own, such as
// one without the built assets.
func NewHandler(fsys fs.FS) http.Handler { return newHandler(fsys, nil) }
