// GraphiQL for the orderflow gateway. Everything it needs is bundled by
// scripts/graphiql-assets.sh and served by the gateway binary itself, so the
// playground works on a machine with no internet: queries and mutations go to
// POST /graphql on the same origin, subscriptions to ws(s)://<host>/graphql
// with the graphql-transport-ws protocol (graphql-ws client).
//
// Every request needs a customer's token (Authorization: Bearer …) in the
// headers pane; the same header goes into the websocket's connection_init
// payload for subscriptions. Under `make run` the pane is prefilled with a
// demo customer's token (data-headers of #graphiql, from the gateway).
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
# 4. OrderTimeline shows the saga: every event of the
#    order, payment and compensation streams, causes
#    first (try it on a tok_chargeDeclined order).
#
# paymentMethod decides the outcome: tok_visa,
# tok_chargeDeclined, tok_insufficientFunds, tok_slow,
# tok_flaky, tok_unavailable.
#
# Every request needs a token in the Headers pane below:
#   {"Authorization": "Bearer <token>"}
# make run prefills one; bin/token -customer <uuid>
# prints more. The customer is the token's.

mutation CreateOrder {
  createOrder(
    input: {
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

query OrderTimeline {
  orderTimeline(id: "paste-the-order-id-here") {
    service
    type
    version
    occurredAt
    sincePreviousMs
    eventId
    causationId
    traceId
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

// One websocket per Authorization value: the token goes into the
// connection_init payload, so a token changed in the headers pane needs a
// new connection.
const wsClients = new Map();

function authorization(headers) {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization') return String(value);
  }
  return '';
}

function wsClientFor(headers) {
  const auth = authorization(headers);
  if (!wsClients.has(auth)) {
    wsClients.set(auth, createClient({
      url: websocketURL(window.location),
      lazy: true, // connect on the first subscription, not on page load
      retryAttempts: 3,
      connectionParams: auth ? { Authorization: auth } : {},
    }));
  }
  return wsClients.get(auth);
}

function fetcher(graphQLParams, opts) {
  return createGraphiQLFetcher({ url: '/graphql', wsClient: wsClientFor(opts?.headers) })(graphQLParams, opts);
}

const params = new URLSearchParams(window.location.search);
const root = document.getElementById('graphiql');
const prefilledHeaders = root.dataset.headers || undefined;

function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      defaultHeaders={prefilledHeaders}
      headers={prefilledHeaders}
      defaultEditorToolsVisibility={prefilledHeaders ? 'headers' : undefined}
      query={params.get('query') ?? undefined}
      variables={params.get('variables') ?? undefined}
      operationName={params.get('operationName') ?? undefined}
    />
  );
}

createRoot(root).render(<App />);
