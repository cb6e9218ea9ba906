package psp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

func validCharge() psp.ChargeRequest {
	return psp.ChargeRequest{Amount: 1999, Currency: "EUR", Source: "tok_visa", Reference: "pay_1", Description: "order 1"}
}

func TestChargeRequestValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*psp.ChargeRequest)
		wantCode  string
		wantParam string
	}{
		{"valid", func(*psp.ChargeRequest) {}, "", ""},
		{"no reference or description", func(r *psp.ChargeRequest) { r.Reference, r.Description = "", "" }, "", ""},
		{"largest amount", func(r *psp.ChargeRequest) { r.Amount = psp.MaxAmount }, "", ""},
		{"zero amount", func(r *psp.ChargeRequest) { r.Amount = 0 }, psp.CodeParameterInvalid, "amount"},
		{"negative amount", func(r *psp.ChargeRequest) { r.Amount = -5 }, psp.CodeParameterInvalid, "amount"},
		{"amount too large", func(r *psp.ChargeRequest) { r.Amount = psp.MaxAmount + 1 }, psp.CodeParameterInvalid, "amount"},
		{"missing currency", func(r *psp.ChargeRequest) { r.Currency = "" }, psp.CodeParameterMissing, "currency"},
		{"lower-case currency", func(r *psp.ChargeRequest) { r.Currency = "eur" }, psp.CodeParameterInvalid, "currency"},
		{"two-letter currency", func(r *psp.ChargeRequest) { r.Currency = "EU" }, psp.CodeParameterInvalid, "currency"},
		{"non-letter currency", func(r *psp.ChargeRequest) { r.Currency = "E1R" }, psp.CodeParameterInvalid, "currency"},
		{"missing source", func(r *psp.ChargeRequest) { r.Source = "" }, psp.CodeParameterMissing, "source"},
		{"long source", func(r *psp.ChargeRequest) { r.Source = strings.Repeat("x", 256) }, psp.CodeParameterInvalid, "source"},
		{"long reference", func(r *psp.ChargeRequest) { r.Reference = strings.Repeat("x", 256) }, psp.CodeParameterInvalid, "reference"},
		{"long description", func(r *psp.ChargeRequest) { r.Description = strings.Repeat("x", 1001) }, psp.CodeParameterInvalid, "description"},
		{"invalid UTF-8 reference", func(r *psp.ChargeRequest) { r.Reference = "\xff" }, psp.CodeParameterInvalid, "reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validCharge()
			tt.change(&req)
			err := req.Validate()
			if tt.wantCode == "" {
				require.NoError(t, err)
				return
			}
			var perr *psp.Error
			require.True(t, errors.As(err, &perr), "want *psp.Error, got %v", err)
			require.Equal(t, tt.wantCode, perr.Code)
			require.Equal(t, tt.wantParam, perr.Param)
			require.NotEmpty(t, perr.Message)
		})
	}
}

func TestNewChargeOutcome(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		source        string
		randomDecline bool
		wantStatus    psp.Status
		wantFailure   psp.FailureCode
	}{
		{"tok_visa", false, psp.StatusSucceeded, ""},
		{"tok_mastercard", false, psp.StatusSucceeded, ""},
		{"tok_slow", false, psp.StatusSucceeded, ""},
		{"tok_flaky", false, psp.StatusSucceeded, ""},
		{"tok_chargeDeclined", false, psp.StatusFailed, psp.FailureCardDeclined},
		{"tok_insufficientFunds", false, psp.StatusFailed, psp.FailureInsufficientFunds},
		{"tok_unknown", false, psp.StatusFailed, psp.FailureInvalidPaymentMethod},
		{"tok_visa", true, psp.StatusFailed, psp.FailureCardDeclined},
		// A random decline never hides the card's own reason.
		{"tok_insufficientFunds", true, psp.StatusFailed, psp.FailureInsufficientFunds},
	}
	for _, tt := range tests {
		name := tt.source
		if tt.randomDecline {
			name += "/random decline"
		}
		t.Run(name, func(t *testing.T) {
			req := validCharge()
			req.Source = tt.source
			ch := psp.NewCharge("ch_1", req, tt.randomDecline, now)
			require.Equal(t, tt.wantStatus, ch.Status)
			require.Equal(t, tt.wantFailure, ch.FailureCode)
			require.Equal(t, "ch_1", ch.ID)
			require.Equal(t, req.Amount, ch.Amount)
			require.Equal(t, req.Reference, ch.Reference)
			require.Zero(t, ch.AmountRefunded)
			require.NotNil(t, ch.Refunds)
			require.Equal(t, time.UTC, ch.Created.Location())
			require.Equal(t, 123456000, ch.Created.Nanosecond(), "kept to the microsecond, as Postgres keeps it")
		})
	}
}
