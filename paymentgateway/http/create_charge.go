package httpapi

import (
	"context"
	"math/rand/v2"
	"net/http"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/psp"
)

type chargeParams struct {
	Amount      *int64 `json:"amount"`
	Currency    string `json:"currency"`
	Source      string `json:"source"`
	Reference   string `json:"reference"`
	Description string `json:"description"`
}

// createCharge handles POST /v1/charges.
func (a *api) createCharge(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var p chargeParams
	if !decode(w, r, &p) {
		return
	}
	if p.Amount == nil {
		reject(w, http.StatusBadRequest, psp.CodeParameterMissing, "amount",
			"amount is required: a positive integer in minor units (e.g. 1999 for 19.99)")
		return
	}
	req := psp.ChargeRequest{Amount: *p.Amount, Currency: p.Currency, Source: p.Source, Reference: p.Reference, Description: p.Description}
	if err := req.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	ireq, ok := a.idempotent(w, r, scopeCharges, key, p)
	if !ok {
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
	defer cancel()
	rule := psp.RuleFor(req.Source)
	switch rule.Behaviour {
	case psp.Unavailable:
		unavailable(w)
		return
	case psp.Flaky:
		n, err := a.ledger.CountAttempt(ctx, ireq)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if n <= a.opts.FlakyFailures {
			unavailable(w)
			return
		}
	}

	ch := psp.NewCharge(newID("ch_"), req, rand.Float64() < a.opts.DeclineRate, a.now())
	rec, err := a.ledger.CreateCharge(ctx, ireq, ch, chargeReply(ch))
	if err != nil || rec.Replayed {
		// A concurrent request with the same key got there first.
		a.replay(w, r, ireq, rec, err)
		return
	}
	if rule.Behaviour == psp.Slow {
		// Committed already: the caller's retry will find this charge.
		sleep(r.Context(), a.opts.SlowDelay)
	}
	send(w, rec.Reply)
}

// chargeReply is the answer that announces a new charge: 201 if captured,
// 402 with the declined charge if not.
func chargeReply(ch psp.Charge) idempotency.Reply {
	if ch.Status == psp.StatusSucceeded {
		return marshalReply(http.StatusCreated, renderCharge(ch))
	}
	return marshalReply(http.StatusPaymentRequired, declineBody{
		Error: errorJSON{
			Code:    string(ch.FailureCode),
			Message: ch.FailureCode.Message(),
			Charge:  ch.ID,
		},
		Charge: renderCharge(ch),
	})
}

type declineBody struct {
	Error  errorJSON  `json:"error"`
	Charge chargeJSON `json:"charge"`
}

func unavailable(w http.ResponseWriter) {
	reject(w, http.StatusServiceUnavailable, "service_unavailable", "",
		"The card network is unavailable right now; retry with the same Idempotency-Key.")
}
