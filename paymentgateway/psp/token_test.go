package psp_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/psp"
)

func TestRuleForFollowsTheDocumentedTokenTable(t *testing.T) {
	tests := []struct {
		token string
		want  psp.Rule
	}{
		{"tok_visa", psp.Rule{Behaviour: psp.Answer}},
		{"tok_mastercard", psp.Rule{Behaviour: psp.Answer}},
		{"tok_chargeDeclined", psp.Rule{Behaviour: psp.Answer, Decline: psp.FailureCardDeclined}},
		{"tok_insufficientFunds", psp.Rule{Behaviour: psp.Answer, Decline: psp.FailureInsufficientFunds}},
		{"tok_slow", psp.Rule{Behaviour: psp.Slow}},
		{"tok_flaky", psp.Rule{Behaviour: psp.Flaky}},
		{"tok_unavailable", psp.Rule{Behaviour: psp.Unavailable}},
		{"tok_amex", psp.Rule{Behaviour: psp.Answer, Decline: psp.FailureInvalidPaymentMethod}},
		{"TOK_VISA", psp.Rule{Behaviour: psp.Answer, Decline: psp.FailureInvalidPaymentMethod}},
		{"4242424242424242", psp.Rule{Behaviour: psp.Answer, Decline: psp.FailureInvalidPaymentMethod}},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			require.Equal(t, tt.want, psp.RuleFor(tt.token))
		})
	}
}

func TestEveryFailureCodeHasAMessage(t *testing.T) {
	for _, code := range []psp.FailureCode{psp.FailureCardDeclined, psp.FailureInsufficientFunds, psp.FailureInvalidPaymentMethod} {
		require.NotEmpty(t, code.Message(), code)
	}
}
