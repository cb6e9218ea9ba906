// GraphiQL for the orderflow gateway. Everything it needs is bundled by
// scripts/graphiql-assets.sh and served by the gateway binary itself, so the
// playground works on a machine with no internet: queries and mutations go to
// POST /graphql on the same origin, subscriptions to ws(s)://<host>/graphql
// with the graphql-transport-ws protocol (graphql-ws client).
//
// URL parameters (handy for links and for the end-to-end browser check):
//   ?query=...&variables=...&operationName=...
// A `query` parameter replaces the active tab's contents on load; without one,
// GraphiQL restores the tabs it kept in localStorage, or shows DEFAULT_QUERY.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import 'graphiql/style.css';

const DEFAULT_QUERY = `# Welcome to orderflow.
#
# 1. Run CreateOrder (the play button asks which
#    operation to run).
# 2. Paste the new id into OrderStatusChanged and run
#    it: it shows every status change and completes
#    after CANCELLED.
# 3. To cancel while it streams, copy CancelOrder into
#    a new tab (+) and run it there.
#
# paymentMethod decides the outcome: tok_visa,
# tok_chargeDeclined, tok_insufficientFunds, tok_slow,
# tok_flaky, tok_unavailable.

mutation CreateOrder {
  createOrder(
    input: {
      customerId: "6f1c1d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f"
      currency: "EUR"
      items: [{ sku: "SKU-1", quantity: 2, unitPrice: 1250 }]
      paymentMethod: "tok_visa"
    }
  ) {
    id
    status
    total
    version
  }
}

subscription OrderStatusChanged {
  orderStatusChanged(id: "paste-the-order-id-here") {
    id
    status
    version
    payment {
      status
      failureCode
    }
    cancellationReason
  }
}

query Order {
  order(id: "paste-the-order-id-here") {
    id
    status
    total
    payment {
      status
    }
    history {
      type
      version
      occurredAt
    }
  }
}

mutation CancelOrder {
  cancelOrder(id: "paste-the-order-id-here", reason: "changed my mind") {
    id
    status
  }
}
`;

function websocketURL(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/graphql`;
}

const wsClient = createClient({
  url: websocketURL(window.location),
  lazy: true, // connect on the first subscription, not on page load
  retryAttempts: 3,
});

const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  wsClient,
});

const params = new URLSearchParams(window.location.search);

function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      query={params.get('query') ?? undefined}
      variables={params.get('variables') ?? undefined}
      operationName={params.get('operationName') ?? undefined}
    />
  );
}

createRoot(document.getElementById('graphiql')).render(<App />);
