// Package invariants checks, from the stores themselves, that the saga kept
// its promises: every order reached a final state, no order was charged
// twice, every cancelled order's captures were refunded, every paid order
// holds exactly its one capture, and no event stream has a gap. Tests, the
// load benchmark and operators run the same checks.
package invariants

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/schema"
)

// Sources are where the facts live.
type Sources struct {
	OrderDSN        string
	PaymentDSN      string
	CompensationDSN string
	PSPURL          string
	// ServiceToken is sent to the PSP, whose ledger only answers callers
	// with the deployment's service token.
	ServiceToken string
	// AllowInFlight accepts orders that are not final yet (PENDING,
	// CANCELLING): for a look at a running system rather than a settled one.
	AllowInFlight bool
}

// SourcesFromEnv returns the sources of the system `make run` starts, or of
// another one named by ORDER_POSTGRES_DSN, PAYMENT_POSTGRES_DSN,
// COMPENSATION_POSTGRES_DSN and PAYMENT_PSP_URL. The service token is
// PAYMENT_SERVICE_TOKEN's, or else the one `make run` keeps in
// .data/auth/service-token (relative to the working directory) if that
// file exists; without either, the PSP refuses to list its ledger.
func SourcesFromEnv() Sources {
	const pg = "postgres://orderflow:orderflow@127.0.0.1:5432/"
	token := os.Getenv("PAYMENT_SERVICE_TOKEN")
	if token == "" {
		// A missing or unreadable file leaves the token empty: Check then
		// reports the PSP's 401, which says what is wrong.
		token, _ = auth.ReadServiceToken(filepath.Join(auth.DefaultDir, auth.ServiceTokenFile))
	}
	return Sources{
		OrderDSN:        cmp.Or(os.Getenv("ORDER_POSTGRES_DSN"), pg+"orderflow_order?sslmode=disable"),
		PaymentDSN:      cmp.Or(os.Getenv("PAYMENT_POSTGRES_DSN"), pg+"orderflow_payment?sslmode=disable"),
		CompensationDSN: cmp.Or(os.Getenv("COMPENSATION_POSTGRES_DSN"), pg+"orderflow_compensation?sslmode=disable"),
		PSPURL:          cmp.Or(os.Getenv("PAYMENT_PSP_URL"), "http://127.0.0.1:8083"),
		ServiceToken:    token,
	}
}

// Report is what a check found.
type Report struct {
	Orders        int
	ByStatus      map[string]int
	Charges       int
	Captures      int
	Refunded      int
	Streams       int
	OutboxPending int
	Violations    []string
}

// OK reports whether no invariant was violated.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// Print writes the report for a person.
func (r Report) Print(w io.Writer) {
	statuses := make([]string, 0, len(r.ByStatus))
	for s := range r.ByStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "orders checked:        %d", r.Orders)
	for _, s := range statuses {
		fmt.Fprintf(w, " %s=%d", s, r.ByStatus[s])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "PSP charges checked:   %d (succeeded %d, of which refunded %d)\n", r.Charges, r.Captures, r.Refunded)
	fmt.Fprintf(w, "event streams checked: %d (versions contiguous from 1)\n", r.Streams)
	fmt.Fprintf(w, "outbox rows pending:   %d\n", r.OutboxPending)
	if r.OK() {
		fmt.Fprintln(w, "invariants: OK — every order final, at most one capture per order, every cancelled order's captures refunded, no stream gap")
		return
	}
	fmt.Fprintf(w, "invariants: %d VIOLATION(S)\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintln(w, "  -", v)
	}
}

type orderFacts struct {
	status string
	total  int64
}

// Check reads every source and returns what it found. An error means a
// source could not be read, not that an invariant failed.
func Check(ctx context.Context, src Sources) (Report, error) {
	r := Report{ByStatus: map[string]int{}}

	orders, err := readOrders(ctx, src.OrderDSN)
	if err != nil {
		return r, fmt.Errorf("orders: %w", err)
	}
	payments, err := readPayments(ctx, src.PaymentDSN)
	if err != nil {
		return r, fmt.Errorf("payments: %w", err)
	}
	for _, dsn := range []string{src.OrderDSN, src.PaymentDSN, src.CompensationDSN} {
		if err := checkStreams(ctx, dsn, &r); err != nil {
			return r, fmt.Errorf("streams: %w", err)
		}
	}

	r.Orders = len(orders)
	for id, o := range orders {
		r.ByStatus[o.status]++
		if !src.AllowInFlight && o.status != "PAID" && o.status != "CANCELLED" {
			r.Violations = append(r.Violations, fmt.Sprintf("order %s is %s, not in a final state", id, o.status))
		}
	}

	// Charges by payment reference, from the PSP's own ledger.
	psp := client.New(src.PSPURL, &http.Client{Timeout: 30 * time.Second,
		Transport: auth.ServiceTransport(src.ServiceToken, nil)})
	captures := map[string][]client.Charge{}
	for ch, err := range psp.AllCharges(ctx, client.ListParams{Limit: 100}) {
		if err != nil {
			if src.ServiceToken == "" {
				return r, fmt.Errorf("psp ledger (no service token: set PAYMENT_SERVICE_TOKEN, or run from the directory holding %s/%s): %w",
					auth.DefaultDir, auth.ServiceTokenFile, err)
			}
			return r, fmt.Errorf("psp ledger: %w", err)
		}
		r.Charges++
		if ch.Status != client.StatusSucceeded {
			continue
		}
		r.Captures++
		if ch.AmountRefunded > 0 {
			r.Refunded++
		}
		captures[ch.Reference] = append(captures[ch.Reference], ch)
	}

	orderOfPayment := map[string]string{}
	for orderID, paymentID := range payments {
		orderOfPayment[paymentID] = orderID
	}
	for ref, chs := range captures {
		if _, ok := orderOfPayment[ref]; !ok {
			r.Violations = append(r.Violations, fmt.Sprintf("charge %s captured for reference %q that no payment requested", chs[0].ID, ref))
		}
	}
	for orderID, o := range orders {
		chs := captures[payments[orderID]]
		if len(chs) > 1 {
			r.Violations = append(r.Violations, fmt.Sprintf("order %s charged %d times (%s)", orderID, len(chs), chargeIDs(chs)))
		}
		switch o.status {
		case "CANCELLED":
			for _, ch := range chs {
				if ch.AmountRefunded != ch.Amount {
					r.Violations = append(r.Violations, fmt.Sprintf("order %s is CANCELLED but charge %s kept %d of %d",
						orderID, ch.ID, ch.Amount-ch.AmountRefunded, ch.Amount))
				}
			}
		case "PAID":
			if len(chs) == 0 {
				r.Violations = append(r.Violations, fmt.Sprintf("order %s is PAID without a capture at the PSP", orderID))
			}
			for _, ch := range chs {
				if ch.AmountRefunded != 0 || ch.Amount != o.total {
					r.Violations = append(r.Violations, fmt.Sprintf("order %s is PAID (total %d) but charge %s is %d with %d refunded",
						orderID, o.total, ch.ID, ch.Amount, ch.AmountRefunded))
				}
			}
		}
	}
	sort.Strings(r.Violations)
	return r, nil
}

func chargeIDs(chs []client.Charge) string {
	s := ""
	for i, ch := range chs {
		if i > 0 {
			s += ", "
		}
		s += ch.ID
	}
	return s
}

// readOrders folds each order's status from its events.
func readOrders(ctx context.Context, dsn string) (map[string]orderFacts, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT stream_id, event_type, coalesce((data->>'total')::bigint, 0)
		FROM events WHERE stream_type = $1 ORDER BY stream_id, version`, schema.AggregateOrder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]orderFacts{}
	for rows.Next() {
		var (
			id, typ string
			total   int64
		)
		if err := rows.Scan(&id, &typ, &total); err != nil {
			return nil, err
		}
		o := out[id]
		switch typ {
		case schema.TypeOrderCreated:
			o.status, o.total = "PENDING", total
		case schema.TypeOrderPaid:
			o.status = "PAID"
		case schema.TypeOrderCancellationRequested:
			o.status = "CANCELLING"
		case schema.TypeOrderCancelled:
			o.status = "CANCELLED"
		default:
			return nil, fmt.Errorf("order %s: unknown event type %s", id, typ)
		}
		out[id] = o
	}
	return out, rows.Err()
}

// readPayments maps each order to the payment the payment service made for it.
func readPayments(ctx context.Context, dsn string) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT data->>'orderId', data->>'paymentId' FROM events WHERE event_type = $1`,
		schema.TypePaymentRequested)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var orderID, paymentID string
		if err := rows.Scan(&orderID, &paymentID); err != nil {
			return nil, err
		}
		if prev, ok := out[orderID]; ok && prev != paymentID {
			return nil, errors.New("order " + orderID + " has two payments: " + prev + " and " + paymentID)
		}
		out[orderID] = paymentID
	}
	return out, rows.Err()
}

// checkStreams finds streams whose versions are not 1..n, or whose recorded
// version disagrees with their events, and counts pending outbox rows.
func checkStreams(ctx context.Context, dsn string, r *Report) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT s.stream_type, s.stream_id, s.version, count(e.version), coalesce(min(e.version), 0), coalesce(max(e.version), 0)
		FROM streams s LEFT JOIN events e USING (stream_type, stream_id)
		GROUP BY s.stream_type, s.stream_id, s.version`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			typ, id                   string
			version, count, low, high int
		)
		if err := rows.Scan(&typ, &id, &version, &count, &low, &high); err != nil {
			return err
		}
		r.Streams++
		if count != version || low != 1 || high != version {
			r.Violations = append(r.Violations, fmt.Sprintf("stream %s/%s has a gap: version %d but %d events (%d..%d)",
				typ, id, version, count, low, high))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var pending int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&pending); err != nil {
		return err
	}
	r.OutboxPending += pending
	return nil
}
