package adapters

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/payment/app/command"
	"github.com/orderflow/orderflow/paymentgateway/client"
	"github.com/orderflow/orderflow/platform/auth"
	"github.com/orderflow/orderflow/platform/tracing"
)

// PSP is the payment gateway, as the use cases' command.PSP.
type PSP struct {
	client  *client.Client
	baseURL string
	hc      *http.Client
	latency *prometheus.HistogramVec
}

// NewPSP returns the PSP at baseURL, called through hc.
func NewPSP(baseURL string, hc *http.Client, opts ...PSPOption) *PSP {
	p := &PSP{client: client.New(baseURL, hc), baseURL: strings.TrimRight(baseURL, "/"), hc: hc}
	for _, opt := range opts {
		opt(p)
	}
	if p.latency == nil {
		p.latency = newPSPLatency(nil)
	}
	return p
}

// NewHTTPClient returns the HTTP client for the PSP: a keep-alive pool that
// holds an idle connection for each of up to concurrent calls at once (the
// default transport keeps two per host, so concurrent charges would open
// and close a TCP connection each), sending the deployment's service token
// on every call. Calls are bounded by their contexts.
func NewHTTPClient(concurrent int, serviceToken string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(concurrent, 64)
	t.MaxIdleConnsPerHost = max(concurrent, 64)
	return &http.Client{Transport: tracing.Transport(auth.ServiceTransport(serviceToken, t))}
}

// Charge implements command.PSP.
func (p *PSP) Charge(ctx context.Context, idempotencyKey string, req command.ChargeRequest) (charge command.Charge, err error) {
	start := time.Now()
	defer func() {
		outcome := "captured"
		if !charge.Succeeded {
			outcome = "declined"
		}
		p.observe("charge", start, outcome, err)
	}()
	ch, err := p.client.CreateCharge(ctx, idempotencyKey, client.ChargeRequest{
		Amount:      req.Amount,
		Currency:    req.Currency,
		Source:      req.Source,
		Reference:   req.Reference,
		Description: req.Description,
	})
	if err != nil {
		return command.Charge{}, classify(err)
	}
	return chargeOf(ch)
}

// FindCharges implements command.PSP.
func (p *PSP) FindCharges(ctx context.Context, reference string) (out []command.Charge, err error) {
	start := time.Now()
	defer func() { p.observe("find_charges", start, "found", err) }()
	for ch, err := range p.client.AllCharges(ctx, client.ListParams{Reference: reference, Limit: 100}) {
		if err != nil {
			return nil, classify(err)
		}
		c, err := chargeOf(ch)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Refund implements command.PSP.
func (p *PSP) Refund(ctx context.Context, idempotencyKey string, req command.RefundRequest) (_ command.Refund, err error) {
	start := time.Now()
	defer func() { p.observe("refund", start, "refunded", err) }()
	r, err := p.client.CreateRefund(ctx, idempotencyKey, client.RefundRequest{Charge: req.ChargeID, Amount: req.Amount})
	if err != nil {
		return command.Refund{}, classify(err)
	}
	if r.ID == "" {
		return command.Refund{}, fmt.Errorf("%w: refund answer without an id", command.ErrPSPNoAnswer)
	}
	return command.Refund{ID: r.ID}, nil
}

// Ping checks that the gateway answers its health endpoint: a readiness check.
func (p *PSP) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return fmt.Errorf("psp health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("psp health: status %d", resp.StatusCode)
	}
	return nil
}

// chargeOf maps a gateway charge. A status other than succeeded or failed
// says nothing final, so it counts as no answer.
func chargeOf(ch client.Charge) (command.Charge, error) {
	switch ch.Status {
	case client.StatusSucceeded:
		return command.Charge{ID: ch.ID, Succeeded: true}, nil
	case client.StatusFailed:
		return command.Charge{ID: ch.ID, FailureCode: ch.FailureCode}, nil
	}
	return command.Charge{}, fmt.Errorf("%w: charge %q has status %q", command.ErrPSPNoAnswer, ch.ID, ch.Status)
}

// classify sorts a gateway client error into what the use cases act on:
// unavailable (nothing was done: refused connection, 503, 429), no answer
// (the call may have been carried out: timeout, cut-off or unreadable
// answer, other 5xx such as a proxy's 502 or 504), or rejected (any other
// 4xx: repeating cannot help). The caller's own cancel stays as it is.
func classify(err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Code == client.CodeNetwork && errors.Is(err, context.Canceled):
		return err
	case ce.Code == client.CodeNetwork && errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %w", command.ErrPSPUnavailable, err)
	case ce.Code == client.CodeNetwork || ce.Code == client.CodeInvalidResponse:
		return fmt.Errorf("%w: %w", command.ErrPSPNoAnswer, err)
	case ce.StatusCode == http.StatusServiceUnavailable || ce.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", command.ErrPSPUnavailable, err)
	case ce.StatusCode >= 500:
		return fmt.Errorf("%w: %w", command.ErrPSPNoAnswer, err)
	}
	return fmt.Errorf("%w: %w", &command.PSPRejectedError{StatusCode: ce.StatusCode, Code: ce.Code, Message: ce.Message}, err)
}
