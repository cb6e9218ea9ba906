package httpapi

import (
	"crypto/rand"
	"time"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

// chargeJSON is a charge on the wire. failure_code and failure_message are
// null for captured charges, as callers test for null.
type chargeJSON struct {
	ID             string       `json:"id"`
	Object         string       `json:"object"`
	Amount         int64        `json:"amount"`
	Currency       string       `json:"currency"`
	Source         string       `json:"source"`
	Reference      string       `json:"reference"`
	Description    string       `json:"description"`
	Status         string       `json:"status"`
	FailureCode    *string      `json:"failure_code"`
	FailureMessage *string      `json:"failure_message"`
	AmountRefunded int64        `json:"amount_refunded"`
	Refunded       bool         `json:"refunded"`
	Refunds        []refundJSON `json:"refunds"`
	Created        time.Time    `json:"created"`
}

type refundJSON struct {
	ID       string    `json:"id"`
	Object   string    `json:"object"`
	Charge   string    `json:"charge"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
}

type listJSON struct {
	Object  string       `json:"object"`
	URL     string       `json:"url"`
	Data    []chargeJSON `json:"data"`
	HasMore bool         `json:"has_more"`
}

func renderCharge(ch psp.Charge) chargeJSON {
	out := chargeJSON{
		ID:             ch.ID,
		Object:         "charge",
		Amount:         ch.Amount,
		Currency:       ch.Currency,
		Source:         ch.Source,
		Reference:      ch.Reference,
		Description:    ch.Description,
		Status:         string(ch.Status),
		AmountRefunded: ch.AmountRefunded,
		Refunded:       ch.Refunded(),
		Refunds:        make([]refundJSON, 0, len(ch.Refunds)),
		Created:        ch.Created,
	}
	if ch.FailureCode != "" {
		code, msg := string(ch.FailureCode), ch.FailureCode.Message()
		out.FailureCode, out.FailureMessage = &code, &msg
	}
	for _, r := range ch.Refunds {
		out.Refunds = append(out.Refunds, renderRefund(r))
	}
	return out
}

func renderRefund(r psp.Refund) refundJSON {
	return refundJSON{
		ID:       r.ID,
		Object:   "refund",
		Charge:   r.ChargeID,
		Amount:   r.Amount,
		Currency: r.Currency,
		Status:   string(r.Status),
		Created:  r.Created,
	}
}

// newID returns a fresh, unguessable id with a type prefix (ch_, re_).
func newID(prefix string) string { return prefix + rand.Text() }
