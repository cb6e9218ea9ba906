package chaos

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/schema"
)

// storedOrder is an order folded from its events in the order service's
// store, the source of truth.
type storedOrder struct {
	customer string
	version  int
	status   string
	reason   string         // why it was cancelled, if it was
	history  map[int]string // status after each version
}

var statusOf = map[string]string{
	schema.TypeOrderCreated: "PENDING", schema.TypeOrderPaid: "PAID",
	schema.TypeOrderCancellationRequested: "CANCELLING", schema.TypeOrderCancelled: "CANCELLED",
}

var paymentStatusOf = map[string]string{
	schema.TypePaymentRequested: "PENDING", schema.TypePaymentCaptured: "CAPTURED",
	schema.TypePaymentDeclined: "DECLINED", schema.TypePaymentFailed: "FAILED", schema.TypePaymentRefunded: "REFUNDED",
}

func readStoredOrders(ctx context.Context, dsn string) (map[string]*storedOrder, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT stream_id, version, event_type, coalesce(data->>'customerId', ''), coalesce(data->>'reason', '')
		FROM events WHERE stream_type = $1 ORDER BY stream_id, version`, schema.AggregateOrder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*storedOrder{}
	for rows.Next() {
		var (
			id, typ, cust, reason string
			version               int
		)
		if err := rows.Scan(&id, &version, &typ, &cust, &reason); err != nil {
			return nil, err
		}
		o := out[id]
		if o == nil {
			o = &storedOrder{history: map[int]string{}}
			out[id] = o
		}
		if cust != "" {
			o.customer = cust
		}
		if reason != "" {
			o.reason = reason
		}
		st, ok := statusOf[typ]
		if !ok {
			return nil, fmt.Errorf("order %s: unknown event type %s", id, typ)
		}
		o.version, o.status, o.history[version] = version, st, st
	}
	return out, rows.Err()
}

// readPaymentStatuses folds each order's payment status from the payment
// service's store.
func readPaymentStatuses(ctx context.Context, dsn string) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT e.event_type, r.data->>'orderId'
		FROM events e JOIN events r ON r.stream_type = e.stream_type AND r.stream_id = e.stream_id AND r.event_type = $1
		WHERE e.stream_type = $2 ORDER BY e.stream_id, e.version`, schema.TypePaymentRequested, schema.AggregatePayment)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var typ, orderID string
		if err := rows.Scan(&typ, &orderID); err != nil {
			return nil, err
		}
		if st, ok := paymentStatusOf[typ]; ok {
			out[orderID] = st
		}
	}
	return out, rows.Err()
}

// storedEventCount is how many events a service's store holds.
func storedEventCount(ctx context.Context, dsn string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	return n, conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
}

// orderEvents lists every event of an order's sagas across the stores (by
// correlation id: the order's), oldest first, for a violation's report.
func orderEvents(ctx context.Context, start time.Time, orderID string, dsns map[string]string) ([]string, error) {
	var out []string
	for _, svc := range []string{"order", "payment", "compensation"} {
		conn, err := pgx.Connect(ctx, dsns[svc])
		if err != nil {
			return nil, err
		}
		rows, err := conn.Query(ctx, `SELECT occurred_at, event_type, version, data::text FROM events
			WHERE correlation_id = $1 OR stream_id = $1 ORDER BY position`, orderID)
		if err != nil {
			conn.Close(ctx)
			return nil, err
		}
		for rows.Next() {
			var (
				at        time.Time
				typ, data string
				version   int
			)
			if err := rows.Scan(&at, &typ, &version, &data); err != nil {
				conn.Close(ctx)
				return nil, err
			}
			out = append(out, fmt.Sprintf("%08.3fs %s %s v%d %.300s", at.Sub(start).Seconds(), svc, typ, version, data))
		}
		err = rows.Err()
		conn.Close(ctx)
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
