package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/payment/domain"
	"github.com/orderflow/orderflow/platform/eventstore"
	"github.com/orderflow/orderflow/platform/inbox"
	"github.com/orderflow/orderflow/schema"
)

// maxConflictRetries bounds how often Update reloads after another writer
// appended to the same payment first.
const maxConflictRetries = 5

// PaymentRepository keeps payments as streams payment/<paymentId> in the
// event store, and records handled messages in the inbox of consumer.
type PaymentRepository struct {
	store    *eventstore.Store
	consumer string
	now      func() time.Time
}

// NewPaymentRepository returns a repository over store whose writes record
// the handled message in consumer's inbox.
func NewPaymentRepository(store *eventstore.Store, consumer string) *PaymentRepository {
	return &PaymentRepository{store: store, consumer: consumer, now: time.Now}
}

func stream(paymentID string) eventstore.StreamID {
	return eventstore.StreamID{Type: schema.AggregatePayment, ID: paymentID}
}

// Load implements command.Repository and query.PaymentReader.
func (r *PaymentRepository) Load(ctx context.Context, paymentID string) (domain.Payment, error) {
	return r.load(ctx, r.store.Pool(), paymentID)
}

func (r *PaymentRepository) load(ctx context.Context, db eventstore.DB, paymentID string) (domain.Payment, error) {
	events, err := r.store.LoadTx(ctx, db, stream(paymentID))
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return domain.Payment{}, fmt.Errorf("payment %s: %w", paymentID, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Payment{}, err
	}
	p, err := domain.Rehydrate(events)
	if err != nil {
		return domain.Payment{}, fmt.Errorf("fold payment %s: %w", paymentID, err)
	}
	return p, nil
}

// Create implements command.Repository.
func (r *PaymentRepository) Create(ctx context.Context, cause schema.Envelope, ev schema.PaymentRequested) ([]schema.Envelope, error) {
	var recorded []schema.Envelope
	err := r.store.Tx(ctx, func(tx pgx.Tx) error {
		first, err := inbox.Claim(ctx, tx, r.consumer, cause.ID)
		if err != nil || !first {
			return err
		}
		env := schema.New(schema.AggregatePayment, ev.PaymentID, ev, cause.CausedBy(), r.now())
		recorded, err = r.store.AppendTx(ctx, tx, stream(ev.PaymentID), eventstore.NewStream, []schema.Envelope{env})
		return err
	})
	if errors.Is(err, eventstore.ErrConcurrency) {
		return nil, fmt.Errorf("payment %s: %w", ev.PaymentID, domain.ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// Update implements command.Repository.
func (r *PaymentRepository) Update(ctx context.Context, cause schema.Envelope, paymentID string,
	decide func(p domain.Payment) ([]schema.Event, error)) error {
	for range maxConflictRetries {
		err := r.store.Tx(ctx, func(tx pgx.Tx) error {
			first, err := inbox.Claim(ctx, tx, r.consumer, cause.ID)
			if err != nil || !first {
				return err
			}
			p, err := r.load(ctx, tx, paymentID)
			if err != nil {
				return err
			}
			events, err := decide(p)
			if err != nil || len(events) == 0 {
				return err
			}
			envs := make([]schema.Envelope, len(events))
			for i, ev := range events {
				envs[i] = schema.New(schema.AggregatePayment, paymentID, ev, cause.CausedBy(), r.now())
			}
			_, err = r.store.AppendTx(ctx, tx, stream(paymentID), p.Version(), envs)
			return err
		})
		if !errors.Is(err, eventstore.ErrConcurrency) {
			return err
		}
	}
	return fmt.Errorf("payment %s keeps changing under us: %w", paymentID, eventstore.ErrConcurrency)
}
