package postgres_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/paymentgateway/idempotency"
	"github.com/orderflow/orderflow/paymentgateway/postgres"
	"github.com/orderflow/orderflow/paymentgateway/psp"
	"github.com/orderflow/orderflow/platform/testenv"
)

func newLedger(t *testing.T) *postgres.Ledger {
	t.Helper()
	pool := testenv.PostgresPool(t)
	require.NoError(t, postgres.Migrate(context.Background(), pool))
	require.NoError(t, postgres.Migrate(context.Background(), pool), "migrating twice changes nothing")
	return postgres.NewLedger(pool)
}

func request(t *testing.T, endpoint, key string, params any) idempotency.Request {
	t.Helper()
	req, err := idempotency.NewRequest(endpoint, key, params)
	require.NoError(t, err)
	return req
}

func captured(id string, amount int64) psp.Charge {
	return psp.NewCharge(id, psp.ChargeRequest{Amount: amount, Currency: "EUR", Source: "tok_visa", Reference: "ref"}, false, time.Now())
}

func TestCreateChargeRecordsOnceUnderAKey(t *testing.T) {
	t.Parallel()
	ctx := testenv.Context(t, 20*time.Second)
	l := newLedger(t)
	req := request(t, "charges", "k1", "params")

	first, err := l.CreateCharge(ctx, req, captured("ch_1", 100), idempotency.Reply{Status: 201, Body: []byte("first")})
	require.NoError(t, err)
	require.False(t, first.Replayed)

	second, err := l.CreateCharge(ctx, req, captured("ch_2", 100), idempotency.Reply{Status: 201, Body: []byte("second")})
	require.NoError(t, err)
	require.True(t, second.Replayed)
	require.Equal(t, "first", string(second.Reply.Body))
	require.True(t, second.Matches(req))

	_, err = l.Charge(ctx, "ch_2")
	require.ErrorIs(t, err, psp.ErrNotFound, "the second charge must not be written")
	charges, more, err := l.Charges(ctx, psp.ChargeQuery{Limit: 10})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, charges, 1)
	require.Equal(t, captured("ch_1", 100).Created.Location(), charges[0].Created.Location())

	rec, found, err := l.Recorded(ctx, req)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, idempotency.Reply{Status: 201, Body: []byte("first")}, rec.Reply)

	_, found, err = l.Recorded(ctx, request(t, "refunds", "k1", "params"))
	require.NoError(t, err)
	require.False(t, found, "keys are scoped per endpoint")
}

func TestServerFailureRepliesLeaveNoTrace(t *testing.T) {
	t.Parallel()
	ctx := testenv.Context(t, 20*time.Second)
	l := newLedger(t)
	_, err := l.CreateCharge(ctx, request(t, "charges", "c", 1), captured("ch_1", 1000), idempotency.Reply{Status: 201})
	require.NoError(t, err)

	req := request(t, "refunds", "r", 1)
	rec, err := l.CreateRefund(ctx, req, "ch_1", func(ch *psp.Charge) (*psp.Refund, idempotency.Reply) {
		refund, err := ch.Refund("re_1", psp.RefundRequest{Charge: ch.ID}, time.Now())
		require.NoError(t, err)
		return &refund, idempotency.Reply{Status: http.StatusInternalServerError}
	})
	require.NoError(t, err)
	require.False(t, rec.Replayed)
	require.Equal(t, http.StatusInternalServerError, rec.Reply.Status)

	_, found, err := l.Recorded(ctx, req)
	require.NoError(t, err)
	require.False(t, found, "a 5xx is not recorded under the key")
	ch, err := l.Charge(ctx, "ch_1")
	require.NoError(t, err)
	require.Zero(t, ch.AmountRefunded, "the refund of a 5xx answer is rolled back")
	require.Empty(t, ch.Refunds)
}

func TestCreateRefundHandsOverTheLockedChargeOrNil(t *testing.T) {
	t.Parallel()
	ctx := testenv.Context(t, 20*time.Second)
	l := newLedger(t)
	_, err := l.CreateCharge(ctx, request(t, "charges", "c", 1), captured("ch_1", 1000), idempotency.Reply{Status: 201})
	require.NoError(t, err)

	var seen *psp.Charge
	_, err = l.CreateRefund(ctx, request(t, "refunds", "r1", 1), "ch_missing", func(ch *psp.Charge) (*psp.Refund, idempotency.Reply) {
		seen = ch
		return nil, idempotency.Reply{Status: http.StatusNotFound}
	})
	require.NoError(t, err)
	require.Nil(t, seen)

	_, err = l.CreateRefund(ctx, request(t, "refunds", "r2", 1), "ch_1", func(ch *psp.Charge) (*psp.Refund, idempotency.Reply) {
		seen = ch
		refund, err := ch.Refund("re_1", psp.RefundRequest{Charge: ch.ID}, time.Now())
		require.NoError(t, err)
		return &refund, idempotency.Reply{Status: http.StatusCreated}
	})
	require.NoError(t, err)
	require.NotNil(t, seen)
	require.Equal(t, int64(1000), seen.Amount)

	ch, err := l.Charge(ctx, "ch_1")
	require.NoError(t, err)
	require.Equal(t, int64(1000), ch.AmountRefunded)
	require.Len(t, ch.Refunds, 1)
}

func TestChargesWithUnknownCursorIsNotFound(t *testing.T) {
	t.Parallel()
	l := newLedger(t)
	_, _, err := l.Charges(testenv.Context(t, 10*time.Second), psp.ChargeQuery{Limit: 10, StartingAfter: "ch_nope"})
	require.ErrorIs(t, err, psp.ErrNotFound)
}
