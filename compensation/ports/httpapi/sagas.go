// Package httpapi serves the compensation service's HTTP API: where an
// order's saga stands, for operators and end-to-end tests.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/compensation/app/query"
	"github.com/orderflow/orderflow/platform/httpserver"
)

// SagaQuery answers for one order's saga.
type SagaQuery interface {
	Handle(ctx context.Context, orderID string) (query.Saga, error)
}

// Register mounts the API on mux.
func Register(mux *http.ServeMux, sagas SagaQuery, log *slog.Logger) {
	mux.HandleFunc("GET /v1/sagas/{orderId}", getSaga(sagas, log))
}

// Saga is the JSON form of a saga.
type Saga struct {
	OrderID         string    `json:"orderId"`
	Status          string    `json:"status"`
	Reason          string    `json:"reason,omitempty"`
	Amount          int64     `json:"amount"`
	Captured        bool      `json:"captured"`
	Capture         *Capture  `json:"capture,omitempty"`
	RefundRequested bool      `json:"refundRequested"`
	Refunded        bool      `json:"refunded"`
	Deadline        time.Time `json:"deadline"`
	DeadlinePending bool      `json:"deadlinePending"`
	Version         int       `json:"version"`
}

// Capture is the JSON form of the money taken for an order.
type Capture struct {
	PaymentID string `json:"paymentId"`
	ChargeID  string `json:"chargeId"`
	Amount    int64  `json:"amount"`
}

func getSaga(sagas SagaQuery, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := sagas.Handle(r.Context(), r.PathValue("orderId"))
		if errors.Is(err, query.ErrNotFound) {
			httpserver.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no saga has started for this order"})
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "get saga", "err", err)
			httpserver.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not load the saga"})
			return
		}
		body := Saga{
			OrderID:         s.OrderID,
			Status:          string(s.Status),
			Reason:          s.Reason,
			Amount:          s.Amount,
			Captured:        s.Captured,
			RefundRequested: s.RefundRequested,
			Refunded:        s.Refunded,
			Deadline:        s.PaymentDeadline,
			DeadlinePending: s.DeadlinePending,
			Version:         s.Version,
		}
		if s.Captured {
			body.Capture = &Capture{PaymentID: s.Capture.PaymentID, ChargeID: s.Capture.ChargeID, Amount: s.Capture.Amount}
		}
		httpserver.WriteJSON(w, http.StatusOK, body)
	}
}
