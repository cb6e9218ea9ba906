package httpserver

import (
	"net/http"
	"net/http/pprof"
)

// MountProfiling serves Go's runtime profiles under /debug/pprof/ on mux
// (`go tool pprof http://ADDR/debug/pprof/profile?seconds=20`). Processes
// mount it only when their PPROF setting is on: a profile shows the code and
// costs CPU while it is taken, so it is not for an address the public reaches.
func MountProfiling(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
