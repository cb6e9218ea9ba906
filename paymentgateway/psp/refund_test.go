package psp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

func amount(n int64) *int64 { return &n }

func TestRefundRequestValidate(t *testing.T) {
	tests := []struct {
		name      string
		req       psp.RefundRequest
		wantCode  string
		wantParam string
	}{
		{"whole charge", psp.RefundRequest{Charge: "ch_1"}, "", ""},
		{"partial", psp.RefundRequest{Charge: "ch_1", Amount: amount(1)}, "", ""},
		{"missing charge", psp.RefundRequest{Amount: amount(1)}, psp.CodeParameterMissing, "charge"},
		{"zero amount", psp.RefundRequest{Charge: "ch_1", Amount: amount(0)}, psp.CodeParameterInvalid, "amount"},
		{"negative amount", psp.RefundRequest{Charge: "ch_1", Amount: amount(-1)}, psp.CodeParameterInvalid, "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.wantCode == "" {
				require.NoError(t, err)
				return
			}
			var perr *psp.Error
			require.True(t, errors.As(err, &perr), "want *psp.Error, got %v", err)
			require.Equal(t, tt.wantCode, perr.Code)
			require.Equal(t, tt.wantParam, perr.Param)
		})
	}
}

func TestChargeRefund(t *testing.T) {
	now := time.Now()
	captured := psp.Charge{ID: "ch_1", Amount: 1000, Currency: "EUR", Status: psp.StatusSucceeded}
	partlyRefunded := captured
	partlyRefunded.AmountRefunded = 600
	fullyRefunded := captured
	fullyRefunded.AmountRefunded = 1000
	declined := psp.Charge{ID: "ch_2", Amount: 1000, Currency: "EUR", Status: psp.StatusFailed, FailureCode: psp.FailureCardDeclined}

	tests := []struct {
		name       string
		charge     psp.Charge
		amount     *int64
		wantAmount int64
		wantCode   string
	}{
		{"all of a captured charge", captured, nil, 1000, ""},
		{"part of a captured charge", captured, amount(250), 250, ""},
		{"exactly what is left", partlyRefunded, amount(400), 400, ""},
		{"what is left, by default", partlyRefunded, nil, 400, ""},
		{"more than the charge", captured, amount(1001), 0, psp.CodeAmountTooLarge},
		{"more than what is left", partlyRefunded, amount(401), 0, psp.CodeAmountTooLarge},
		{"a fully refunded charge", fullyRefunded, nil, 0, psp.CodeChargeAlreadyRefunded},
		{"a declined charge", declined, nil, 0, psp.CodeChargeNotRefundable},
		{"part of a declined charge", declined, amount(1), 0, psp.CodeChargeNotRefundable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refund, err := tt.charge.Refund("re_1", psp.RefundRequest{Charge: tt.charge.ID, Amount: tt.amount}, now)
			if tt.wantCode != "" {
				var perr *psp.Error
				require.True(t, errors.As(err, &perr), "want *psp.Error, got %v", err)
				require.Equal(t, tt.wantCode, perr.Code)
				require.NotEmpty(t, perr.Message)
				return
			}
			require.NoError(t, err)
			require.Equal(t, psp.Refund{
				ID: "re_1", ChargeID: tt.charge.ID, Amount: tt.wantAmount, Currency: "EUR",
				Status: psp.StatusSucceeded, Created: now.UTC().Truncate(time.Microsecond),
			}, refund)
		})
	}
}

func TestChargeRefundable(t *testing.T) {
	tests := []struct {
		name         string
		charge       psp.Charge
		wantLeft     int64
		wantRefunded bool
	}{
		{"captured", psp.Charge{Amount: 1000, Status: psp.StatusSucceeded}, 1000, false},
		{"partly refunded", psp.Charge{Amount: 1000, AmountRefunded: 1, Status: psp.StatusSucceeded}, 999, false},
		{"fully refunded", psp.Charge{Amount: 1000, AmountRefunded: 1000, Status: psp.StatusSucceeded}, 0, true},
		{"declined", psp.Charge{Amount: 1000, Status: psp.StatusFailed}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.wantLeft, tt.charge.Refundable())
			require.Equal(t, tt.wantRefunded, tt.charge.Refunded())
		})
	}
}

func TestChargeQueryValidate(t *testing.T) {
	for _, limit := range []int{1, psp.DefaultPageSize, psp.MaxPageSize} {
		require.NoError(t, psp.ChargeQuery{Limit: limit}.Validate(), limit)
	}
	for _, limit := range []int{-1, 0, psp.MaxPageSize + 1} {
		require.Error(t, psp.ChargeQuery{Limit: limit}.Validate(), limit)
	}
}
