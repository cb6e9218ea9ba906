package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

// listCharges handles GET /v1/charges: the ledger in creation order, a page
// at a time, optionally only the charges of one reference.
func (a *api) listCharges(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	for name := range query {
		switch name {
		case "reference", "limit", "starting_after":
		default:
			// A mistyped filter must not silently return the whole ledger.
			reject(w, http.StatusBadRequest, "parameter_unknown", name,
				fmt.Sprintf("Received unknown parameter %q; known: reference, limit, starting_after.", name))
			return
		}
	}
	q := psp.ChargeQuery{
		Reference:     query.Get("reference"),
		Limit:         psp.DefaultPageSize,
		StartingAfter: query.Get("starting_after"),
	}
	if s := query.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1 // reported by Validate
		}
		q.Limit = n
	}
	if err := q.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}

	charges, more, err := a.ledger.Charges(r.Context(), q)
	if errors.Is(err, psp.ErrNotFound) {
		reject(w, http.StatusBadRequest, psp.CodeResourceMissing, "starting_after",
			fmt.Sprintf("No such charge: %q", q.StartingAfter))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list := listJSON{Object: "list", URL: "/v1/charges", Data: make([]chargeJSON, 0, len(charges)), HasMore: more}
	for _, ch := range charges {
		list.Data = append(list.Data, renderCharge(ch))
	}
	send(w, marshalReply(http.StatusOK, list))
}
