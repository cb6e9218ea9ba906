#!/usr/bin/env node
// A third-party subscription client for the end-to-end tests: the npm
// graphql-ws client (graphql-transport-ws protocol) over the npm ws package,
// so the gateway is checked against an implementation it did not write.
//
//   ORDERFLOW_TOKEN=<token> node subscribe.mjs <ws-url> <orderId> <timeoutMs>
//
// Authenticates with the token in the connection_init payload
// ({"Authorization": "Bearer <token>"}), then subscribes to orderStatusChanged(id) and prints every `next` payload as it
// arrives, one JSON line each ({"data":{"orderStatusChanged":{...}}}) on
// stdout. Exit status:
//   0    the server completed the subscription
//   1    the connection or the subscription failed, or a payload had errors
//        (that payload is still printed first)
//   2    usage
//   124  no completion within timeoutMs
// Messages go to stderr.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const QUERY = `subscription($id: ID!) {
  orderStatusChanged(id: $id) { id status version payment { status } }
}`;

function fail(code, message) {
  process.stderr.write(`subscribe: ${message}\n`);
  process.exit(code);
}

function describe(err) {
  if (err instanceof Error) return err.message;
  // ws reports a failed connection as an ErrorEvent wrapping the Error.
  if (err?.error instanceof Error) return `cannot connect: ${err.error.message}`;
  // graphql-ws rejects with the socket's CloseEvent, or with GraphQL errors.
  if (err && typeof err.code === 'number') {
    return `socket closed with code ${err.code}${err.reason ? `: ${err.reason}` : ''}`;
  }
  if (Array.isArray(err)) return `subscription error: ${JSON.stringify(err)}`;
  return String(err);
}

const [url, orderId, timeoutArg] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg);
if (!url || !orderId || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  fail(2, 'usage: node subscribe.mjs <ws-url> <orderId> <timeoutMs>');
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 0, // a test wants to see a failure, not a retry
  connectionParams: process.env.ORDERFLOW_TOKEN ? { Authorization: `Bearer ${process.env.ORDERFLOW_TOKEN}` } : {},
});

let received = 0;
const timer = setTimeout(() => {
  fail(124, `timed out after ${timeoutMs} ms: ${received} payload(s) received, the subscription did not complete`);
}, timeoutMs);

try {
  const results = client.iterate({ query: QUERY, variables: { id: orderId } });
  for await (const payload of results) {
    received++;
    process.stdout.write(`${JSON.stringify(payload)}\n`);
    if (payload.errors?.length) {
      fail(1, `payload ${received} has errors: ${JSON.stringify(payload.errors)}`);
    }
  }
} catch (err) {
  fail(1, describe(err));
}

clearTimeout(timer);
await client.dispose();
process.stderr.write(`subscribe: completed after ${received} payload(s)\n`);
process.exit(0);
