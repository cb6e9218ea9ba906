package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

// getCharge handles GET /v1/charges/{id}.
func (a *api) getCharge(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch, err := a.ledger.Charge(r.Context(), id)
	if errors.Is(err, psp.ErrNotFound) {
		reject(w, http.StatusNotFound, psp.CodeResourceMissing, "id", fmt.Sprintf("No such charge: %q", id))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	send(w, marshalReply(http.StatusOK, renderCharge(ch)))
}
