package domain

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Limits of a new order (DESIGN.md).
const (
	MaxItems     = 100
	MaxQuantity  = 1000
	MaxTotal     = 100_000_000 // minor units
	MinUnitPrice = 1
)

// NewOrder is the input of order creation.
type NewOrder struct {
	CustomerID    string
	Currency      string
	Items         []Item
	PaymentMethod string
}

// Item is one line of an order; UnitPrice is in minor units.
type Item struct {
	SKU       string
	Quantity  int
	UnitPrice int64
}

// Validate checks every rule and returns all broken ones at once, so a person
// can fix the input in one go, together with the total in minor units.
func (n NewOrder) Validate() (int64, error) {
	var problems []Problem
	add := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	if _, err := uuid.Parse(n.CustomerID); err != nil {
		add("customerId", "must be a UUID, like 3f1c2a56-8a4e-4c1e-9b0f-2d3c4b5a6f70 (got %q)", n.CustomerID)
	}
	if !KnownCurrency(n.Currency) {
		add("currency", "must be a known ISO 4217 code in capitals, like EUR or USD (got %q)", n.Currency)
	}
	if strings.TrimSpace(n.PaymentMethod) == "" {
		add("paymentMethod", "must not be empty: pass a payment token such as tok_visa")
	}
	switch {
	case len(n.Items) == 0:
		add("items", "an order needs at least one item")
	case len(n.Items) > MaxItems:
		add("items", "at most %d items per order (got %d)", MaxItems, len(n.Items))
	}

	var total int64
	for i, it := range n.Items {
		field := fmt.Sprintf("items[%d]", i)
		if strings.TrimSpace(it.SKU) == "" {
			add(field+".sku", "must not be empty")
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			add(field+".quantity", "must be between 1 and %d (got %d)", MaxQuantity, it.Quantity)
		}
		if it.UnitPrice < MinUnitPrice || it.UnitPrice > MaxTotal {
			add(field+".unitPrice", "must be between %d and %d minor units (got %d)", MinUnitPrice, MaxTotal, it.UnitPrice)
		}
		if it.Quantity > 0 && it.UnitPrice > 0 && it.UnitPrice <= MaxTotal && it.Quantity <= MaxQuantity {
			total += int64(it.Quantity) * it.UnitPrice // both bounded: cannot overflow
		}
	}
	if total > MaxTotal {
		add("items", "the order total %d exceeds the maximum of %d minor units", total, MaxTotal)
	}
	if len(problems) > 0 {
		return 0, invalid(problems)
	}
	return total, nil
}
