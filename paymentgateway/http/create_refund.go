package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
)

type refundParams struct {
	Charge string `json:"charge"`
	Amount *int64 `json:"amount,omitempty"`
}

// createRefund handles POST /v1/refunds.
func (a *api) createRefund(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var p refundParams
	if !decode(w, r, &p) {
		return
	}
	req := psp.RefundRequest(p)
	if err := req.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	ireq, ok := a.idempotent(w, r, scopeRefunds, key, p)
	if !ok {
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
	defer cancel()
	rec, err := a.ledger.CreateRefund(ctx, ireq, req.Charge, func(ch *psp.Charge) (*psp.Refund, idempotency.Reply) {
		if ch == nil {
			return nil, errorReply(http.StatusNotFound, errorJSON{
				Code: psp.CodeResourceMissing, Param: "charge", Message: fmt.Sprintf("No such charge: %q", req.Charge)})
		}
		refund, err := ch.Refund(newID("re_"), req, a.now())
		if err != nil {
			return nil, errorReply(http.StatusBadRequest, domainError(err))
		}
		return &refund, marshalReply(http.StatusCreated, renderRefund(refund))
	})
	if err != nil || rec.Replayed {
		a.replay(w, r, ireq, rec, err)
		return
	}
	send(w, rec.Reply)
}
