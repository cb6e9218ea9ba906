package httpserver

import "net/http"

// StatusWriter remembers the status code of the answer, for middleware
// that logs, counts or traces requests. Unwrap lets http.ResponseController
// and websocket libraries reach the connection (Hijack, deadlines)
// underneath.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter { return &StatusWriter{ResponseWriter: w} }

// Status is the code answered: 200 if the handler wrote nothing (net/http
// answers 200 then).
func (w *StatusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// WriteHeader records the first final status.
func (w *StatusWriter) WriteHeader(status int) {
	if w.status == 0 || w.status < 200 && w.status != http.StatusSwitchingProtocols {
		w.status = status // informational answers (103) precede the real one
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records 200 if nothing was written before.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a flush on, for handlers that check for http.Flusher
// instead of using an http.ResponseController.
func (w *StatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
