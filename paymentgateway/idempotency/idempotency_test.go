package idempotency_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantErr string
	}{
		{"uuid", "0b7a3c1e-7d3f-4c55-9a53-2f1e0f6a9b10", ""},
		{"longest", strings.Repeat("k", idempotency.MaxKeyLen), ""},
		{"empty", "", "required"},
		{"too long", strings.Repeat("k", idempotency.MaxKeyLen+1), "at most"},
		{"control character", "key\n", "printable"},
		{"non-ASCII", "clé", "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := idempotency.ValidateKey(tt.key)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

type params struct {
	Amount int64  `json:"amount"`
	Source string `json:"source"`
}

func TestRecordMatchesOnlyTheSameRequest(t *testing.T) {
	first, err := idempotency.NewRequest("POST /v1/charges", "k1", params{Amount: 100, Source: "tok_visa"})
	require.NoError(t, err)
	rec := idempotency.Record{Fingerprint: first.Fingerprint}

	tests := []struct {
		name   string
		params params
		want   bool
	}{
		{"same parameters", params{Amount: 100, Source: "tok_visa"}, true},
		{"different amount", params{Amount: 101, Source: "tok_visa"}, false},
		{"different source", params{Amount: 100, Source: "tok_mastercard"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, err := idempotency.NewRequest("POST /v1/charges", "k1", tt.params)
			require.NoError(t, err)
			require.Equal(t, tt.want, rec.Matches(retry))
		})
	}
}

func TestServerFailuresAreNotStorable(t *testing.T) {
	for status, want := range map[int]bool{200: true, 201: true, 400: true, 402: true, 404: true, 409: true, 500: false, 503: false} {
		require.Equal(t, want, idempotency.Reply{Status: status}.Storable(), status)
	}
}
