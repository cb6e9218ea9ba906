// Package graphiql serves the GraphiQL playground from the gateway binary:
// the page at / and its bundled assets under /graphiql/, with no CDN, so the
// playground works on a machine without internet access.
//
// The assets are built from web/ by scripts/graphiql-assets.sh (`make
// graphiql`) into dist/, which is git-ignored but for a placeholder, so that a
// fresh clone compiles before the npm step. A binary built without the assets
// answers 503 with a page that says how to build them.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// The all: prefix keeps dist/.keep, so the pattern matches on a fresh clone.
//
//go:embed all:dist index.html
var files embed.FS

// AssetPrefix is the path under which the bundled assets are served.
const AssetPrefix = "/graphiql/"

// contentSecurityPolicy lets the page load and connect only to the origin that
// served it (POST /graphql and ws(s)://host/graphql), so GraphiQL can never
// fetch anything from outside even if a dependency tried to.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one file ready to serve: bytes, their gzip form and validators.
type asset struct {
	body        []byte
	gzipped     []byte // nil when gzip does not make it smaller
	contentType string
	etag        string // of body; the gzipped form's is etag with a -gz suffix
}

type handler struct {
	built  bool  // false: every request gets the "run make graphiql" page
	broken error // the embedded page did not render: a bug, answered with 500
	index  asset
	assets map[string]asset // by name under AssetPrefix
}

// Built reports whether the GraphiQL assets were embedded in this binary. The
// gateway may log a warning at start when they were not.
func Built() bool { return built(files) }

func built(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, "dist/graphiql.js")
	return err == nil
}

// Handler serves GraphiQL: GET / is the page, GET /graphiql/graphiql.js and
// /graphiql/graphiql.css are the assets; any other path is 404. Mount it at "/"
// on the gateway's mux, which sends /graphql, /healthz and the rest elsewhere.
//
// The page is revalidated on every load (ETag); the assets are addressed by a
// hash of their contents (?v=…) and then cached for a year. Build it once at
// start: it reads and gzips the assets up front (a fraction of a second).
//
// headers, if not empty, prefill GraphiQL's headers pane — in development,
// an Authorization header with a demo customer's token, so the playground
// works on first load. Whoever loads the page can use them: never put a
// real customer's token there.
func Handler(headers map[string]string) http.Handler { return newHandler(files, headers) }

// newHandler reads everything once, so a request never touches fsys: fsys holds
// index.html and dist/.
func newHandler(fsys fs.FS, headers map[string]string) *handler {
	h := &handler{assets: map[string]asset{}}
	if !built(fsys) {
		return h
	}
	version := sha256.New()
	for _, name := range []string{"graphiql.js", "graphiql.css"} {
		body, err := fs.ReadFile(fsys, "dist/"+name)
		if err != nil {
			return h // half-built dist/: the same advice applies
		}
		h.assets[name] = newAsset(body, contentTypeOf(name))
		version.Write(body)
	}
	h.built = true

	page, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		h.broken = fmt.Errorf("read index.html: %w", err)
		return h
	}
	tmpl, err := template.New("index.html").Parse(string(page))
	if err != nil {
		h.broken = fmt.Errorf("parse index.html: %w", err)
		return h
	}
	prefill := ""
	if len(headers) > 0 {
		b, err := json.MarshalIndent(headers, "", "  ")
		if err != nil {
			h.broken = fmt.Errorf("headers: %w", err)
			return h
		}
		prefill = string(b)
	}
	var buf bytes.Buffer
	data := struct{ Version, Headers string }{hex.EncodeToString(version.Sum(nil)[:8]), prefill}
	if err := tmpl.Execute(&buf, data); err != nil {
		h.broken = fmt.Errorf("render index.html: %w", err)
		return h
	}
	h.index = newAsset(buf.Bytes(), "text/html; charset=utf-8")
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		a         asset
		found     bool
		immutable bool
	)
	switch {
	case r.URL.Path == "/":
		a, found = h.index, true
	case strings.HasPrefix(r.URL.Path, AssetPrefix):
		a, found = h.assets[strings.TrimPrefix(r.URL.Path, AssetPrefix)]
		immutable = r.URL.Query().Get("v") != ""
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case !h.built:
		notBuilt(w)
		return
	case h.broken != nil:
		http.Error(w, "graphiql: "+h.broken.Error(), http.StatusInternalServerError)
		return
	case !found:
		http.NotFound(w, r)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Vary", "Accept-Encoding")
	if r.URL.Path == "/" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
	}
	if immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}

	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		body, etag = a.gzipped, strings.TrimSuffix(etag, `"`)+`-gz"`
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match from the ETag header, and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	a := asset{
		body:        body,
		contentType: contentType,
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	if _, err := zw.Write(body); err == nil && zw.Close() == nil && buf.Len() < len(body) {
		a.gzipped = buf.Bytes()
	}
	return a
}

func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") &&
			strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GraphiQL is not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>GraphiQL is not available</h1>
<p>GraphiQL assets are not built: run <code>make graphiql</code>
(or <code>bash scripts/graphiql-assets.sh</code>) and rebuild the gateway.</p>
<p>The GraphQL API itself works: POST queries to <code>/graphql</code>.</p>
</body></html>
`

func notBuilt(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(notBuiltPage))
}
