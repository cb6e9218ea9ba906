package ports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/order/api"
	"github.com/orderflow/orderflow/order/app"
	"github.com/orderflow/orderflow/order/app/command"
	"github.com/orderflow/orderflow/order/domain"
	"github.com/orderflow/orderflow/platform/httpserver"
	"github.com/orderflow/orderflow/platform/tracing"
)

// maxBody bounds a command's body: 100 items fit easily.
const maxBody = 256 << 10

// HTTP serves the order command API.
type HTTP struct {
	app app.Application
	log *slog.Logger
}

// NewHTTP returns the command API over a.
func NewHTTP(a app.Application, log *slog.Logger) *HTTP { return &HTTP{app: a, log: log} }

// Register mounts the API's routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/orders", h.create)
	mux.HandleFunc("POST /v1/orders/{id}/cancel", h.cancel)
	mux.HandleFunc("GET /v1/orders/{id}", h.get)
}

func (h *HTTP) create(w http.ResponseWriter, r *http.Request) {
	var req api.CreateOrderRequest
	if !h.decode(w, r, &req) {
		return
	}
	items := make([]domain.Item, len(req.Items))
	for i, it := range req.Items {
		items[i] = domain.Item{SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	o, err := h.app.Commands.CreateOrder.Do(r.Context(), command.CreateOrder{
		NewOrder: domain.NewOrder{
			CustomerID: req.CustomerID, Currency: req.Currency, Items: items, PaymentMethod: req.PaymentMethod,
		},
		IdempotencyKey: req.IdempotencyKey,
		RequestID:      requestID(r),
		TraceParent:    tracing.TraceParent(r.Context()),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, view(o))
}

func (h *HTTP) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := h.orderID(w, r)
	if !ok {
		return
	}
	var req api.CancelOrderRequest
	if r.ContentLength != 0 && !h.decode(w, r, &req) {
		return
	}
	o, err := h.app.Commands.CancelOrder.Do(r.Context(), command.CancelOrder{
		OrderID: id, Note: req.Reason, RequestID: requestID(r), TraceParent: tracing.TraceParent(r.Context()),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, view(o))
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) {
	id, ok := h.orderID(w, r)
	if !ok {
		return
	}
	o, err := h.app.Queries.Order.Handle(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, view(o))
}

func (h *HTTP) orderID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(w, http.StatusBadRequest, api.ErrorDetail{Code: api.CodeInvalid,
			Message: fmt.Sprintf("order id must be a UUID (got %q)", id)})
		return "", false
	}
	return id, true
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors that name the problem.
func (h *HTTP) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	msg := "malformed JSON body: " + err.Error()
	switch {
	case errors.As(err, &tooBig):
		msg = fmt.Sprintf("request body larger than %d bytes", maxBody)
	case errors.Is(err, io.EOF):
		msg = "request body is empty: send a JSON object"
	}
	writeError(w, http.StatusBadRequest, api.ErrorDetail{Code: api.CodeInvalid, Message: msg})
	return false
}

func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		h.log.ErrorContext(r.Context(), "command failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, api.ErrorDetail{Code: api.CodeInternal,
			Message: "the order service failed to process the request; it is safe to retry with the same idempotency key"})
		return
	}
	status, code := http.StatusInternalServerError, api.CodeInternal
	switch de.Code {
	case domain.CodeInvalid:
		status, code = http.StatusBadRequest, api.CodeInvalid
	case domain.CodeNotFound:
		status, code = http.StatusNotFound, api.CodeNotFound
	case domain.CodeConflict:
		status, code = http.StatusConflict, api.CodeConflict
	}
	detail := api.ErrorDetail{Code: code, Message: de.Message}
	for _, p := range de.Problems {
		detail.Problems = append(detail.Problems, api.Problem(p))
	}
	writeError(w, status, detail)
}

func view(o domain.Order) api.Order {
	out := api.Order{
		ID: o.ID, CustomerID: o.CustomerID, Status: string(o.Status), Currency: o.Currency, Total: o.Total,
		PaymentID: o.PaymentID, CancellationReason: o.CancellationReason, CancellationNote: o.CancellationNote,
		Refunded: o.Refunded, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Items: make([]api.Item, len(o.Items)), History: make([]api.HistoryEntry, len(o.History)),
	}
	for i, it := range o.Items {
		out.Items[i] = api.Item{SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	for i, h := range o.History {
		out.History[i] = api.HistoryEntry{Type: h.Type, Version: h.Version, OccurredAt: h.OccurredAt}
	}
	return out
}

// requestID is the caller's X-Request-Id if it is a UUID, else a new one: it
// becomes the causation id of the events the request records.
func requestID(r *http.Request) string {
	if id := strings.TrimSpace(r.Header.Get("X-Request-Id")); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			return id
		}
	}
	return uuid.NewString()
}

func writeError(w http.ResponseWriter, status int, detail api.ErrorDetail) {
	httpserver.WriteJSON(w, status, api.ErrorBody{Error: detail})
}
