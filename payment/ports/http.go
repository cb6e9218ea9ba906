package ports

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/orderflow/orderflow/payment/app"
	"github.com/orderflow/orderflow/payment/app/query"
	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/httpserver"
)

// HTTPServer serves the payment API: GET /v1/payments/{orderId}.
type HTTPServer struct {
	app app.Application
	log *slog.Logger
}

// NewHTTPServer returns the API over a.
func NewHTTPServer(a app.Application, log *slog.Logger) HTTPServer {
	return HTTPServer{app: a, log: log}
}

// Register mounts the API's routes on mux.
func (s HTTPServer) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/payments/{orderId}", s.getPayment)
}

// paymentJSON is a payment on the wire.
type paymentJSON struct {
	ID            string `json:"id"`
	OrderID       string `json:"orderId"`
	Status        string `json:"status"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	PaymentMethod string `json:"paymentMethod"`
	ChargeID      string `json:"chargeId,omitempty"`
	RefundID      string `json:"refundId,omitempty"`
	FailureCode   string `json:"failureCode,omitempty"`
	Attempts      int    `json:"attempts,omitempty"`
	Version       int    `json:"version"`
}

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s HTTPServer) getPayment(w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("orderId")
	p, err := s.app.Queries.GetPayment.Handle(r.Context(), orderID)
	if errors.Is(err, domain.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "No payment for order "+orderID+" (yet).")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "get payment", "order_id", orderID, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "Something went wrong on our side; retry.")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, render(p))
}

func render(p query.Payment) paymentJSON {
	return paymentJSON{
		ID: p.ID, OrderID: p.OrderID, Status: string(p.Status), Amount: p.Amount, Currency: p.Currency,
		PaymentMethod: p.PaymentMethod, ChargeID: p.ChargeID, RefundID: p.RefundID,
		FailureCode: p.FailureCode, Attempts: p.Attempts, Version: p.Version,
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var body errorJSON
	body.Error.Code, body.Error.Message = code, message
	httpserver.WriteJSON(w, status, body)
}
