package chaos

import (
	"context"
	"fmt"
	"sort"
)

// readModelOrder is an order as the gateway's read model answers it.
type readModelOrder struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
	Payment *struct {
		Status string `json:"status"`
	} `json:"payment"`
}

// readCustomerOrders lists every order of a customer from the read model,
// page by page, as the customer.
func readCustomerOrders(ctx context.Context, gw gateways, c customer) (map[string]readModelOrder, error) {
	out := map[string]readModelOrder{}
	var after any
	for page := 0; page < 1000; page++ {
		var data struct {
			Orders struct {
				Edges []struct {
					Node readModelOrder `json:"node"`
				} `json:"edges"`
				PageInfo struct {
					HasNextPage bool    `json:"hasNextPage"`
					EndCursor   *string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"orders"`
		}
		r, err := gw.api(page, c.token).Do(ctx, `query($after: String) { orders(first: 50, after: $after) {
			edges { node { id status version payment { status } } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after}, &data)
		if err != nil {
			return nil, err
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		for _, e := range data.Orders.Edges {
			out[e.Node.ID] = e.Node
		}
		if !data.Orders.PageInfo.HasNextPage || data.Orders.PageInfo.EndCursor == nil {
			return out, nil
		}
		after = *data.Orders.PageInfo.EndCursor
	}
	return nil, fmt.Errorf("customer %s: more than 1000 pages", c.id)
}

// compareReadModels lists every difference between the read models and
// the fold of the stores: an order missing from its customer's list or
// there with another status, version or payment status, and an order
// listed that the store does not hold.
func compareReadModels(ctx context.Context, gw gateways, customers []customer,
	stored map[string]*storedOrder, payments map[string]string) ([]string, error) {
	var diffs []string
	known := map[string]bool{}
	for _, c := range customers {
		known[c.id] = true
		listed, err := readCustomerOrders(ctx, gw, c)
		if err != nil {
			return nil, fmt.Errorf("read model of customer %s: %w", c.id, err)
		}
		for id, o := range stored {
			if o.customer != c.id {
				continue
			}
			got, ok := listed[id]
			pay := ""
			if got.Payment != nil {
				pay = got.Payment.Status
			}
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("order %s (%s v%d) is not in its customer's read model", id, o.status, o.version))
			case got.Status != o.status || got.Version != o.version || pay != payments[id]:
				diffs = append(diffs, fmt.Sprintf("order %s: read model %s v%d payment %q, stores %s v%d payment %q",
					id, got.Status, got.Version, pay, o.status, o.version, payments[id]))
			}
			delete(listed, id)
		}
		for id := range listed {
			diffs = append(diffs, fmt.Sprintf("order %s is in customer %s's read model but not in the store", id, c.id))
		}
	}
	for id, o := range stored {
		if !known[o.customer] {
			diffs = append(diffs, fmt.Sprintf("order %s belongs to customer %q, not one of the load's", id, o.customer))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}
