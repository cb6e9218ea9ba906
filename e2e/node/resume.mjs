#!/usr/bin/env node
// A reference client that follows one order across gateway replicas: the npm
// graphql-ws client (graphql-transport-ws protocol) over the npm ws package,
// resuming its subscription with a cursor when its gateway goes away.
//
//   ORDERFLOW_TOKEN=<token> node resume.mjs [--hold] [--after <version>] <timeoutMs> <orderId> <ws-url>...
//
// Subscribes to orderStatusChanged(id) at the first URL (with afterVersion
// if --after is given). When the connection is lost before the server
// completed the subscription, it subscribes again at the next URL (round
// robin, at most 5 times in all) with afterVersion = the version of the last
// order it received, so that the server sends exactly the status changes it
// missed, then the live ones; without any order received yet (and no
// --after), it subscribes again without afterVersion. It waits 250 ms times
// the attempt before reconnecting, or, with --hold, until a line arrives on
// stdin (end of input counts), so that a test can change the order while no
// gateway holds the client.
//
// Authenticates with the token in the connection_init payload
// ({"Authorization": "Bearer <token>"}). Prints one JSON line per event on
// stdout, as it happens:
//   {"event":"next","url":U,"payload":{"data":{"orderStatusChanged":{...}}}}
//   {"event":"lost","url":U,"reason":"...","afterVersion":N}   (null: none yet)
//   {"event":"resubscribe","url":U,"afterVersion":N}
//   {"event":"complete","url":U}
// Exit status:
//   0    the server completed the subscription
//   1    the subscription failed (GraphQL errors, a payload with errors,
//        a close code 4400-4499), or the connection was lost once too often
//   2    usage
//   124  no completion within timeoutMs
// Messages go to stderr.
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const QUERY = `subscription($id: ID!, $afterVersion: Int) {
  orderStatusChanged(id: $id, afterVersion: $afterVersion) { id status version payment { status } }
}`;
const MAX_RECONNECTS = 5;

function fail(code, message) {
  process.stderr.write(`resume: ${message}\n`);
  process.exit(code);
}

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

// lostConnection says why err is a lost connection worth another replica, or
// returns null for a failure no other replica would answer differently.
function lostConnection(err) {
  // ws reports a connection that could not be made as an ErrorEvent.
  if (err?.error instanceof Error) return `cannot connect: ${err.error.message}`;
  // graphql-ws rejects with the socket's CloseEvent when it closes.
  if (err && typeof err.code === 'number' && !Array.isArray(err)) {
    if (err.code >= 4400 && err.code < 4500) return null; // the server refused us: bad request, unauthorized, …
    return `socket closed with code ${err.code}${err.reason ? `: ${err.reason}` : ''}`;
  }
  return null;
}

function describe(err) {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return `subscription error: ${JSON.stringify(err)}`;
  if (err && typeof err.code === 'number') return `socket closed with code ${err.code}${err.reason ? `: ${err.reason}` : ''}`;
  return String(err);
}

const args = process.argv.slice(2);
let hold = false;
let cursor = null; // the version of the last order received
while (args[0]?.startsWith('--')) {
  const flag = args.shift();
  if (flag === '--hold') {
    hold = true;
  } else if (flag === '--after') {
    cursor = Number(args.shift());
    if (!Number.isInteger(cursor)) fail(2, '--after needs an integer version');
  } else {
    fail(2, `unknown flag ${flag}`);
  }
}
const [timeoutArg, orderId, ...urls] = args;
const timeoutMs = Number(timeoutArg);
if (!orderId || urls.length === 0 || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  fail(2, 'usage: node resume.mjs [--hold] [--after <version>] <timeoutMs> <orderId> <ws-url>...');
}

let received = 0;
const timer = setTimeout(() => {
  fail(124, `timed out after ${timeoutMs} ms: ${received} payload(s) received, the subscription did not complete`);
}, timeoutMs);

// With --hold, each reconnect waits for one line of stdin (or its end).
const stdinLines = hold ? createInterface({ input: process.stdin })[Symbol.asyncIterator]() : null;

async function waitToReconnect(attempt) {
  if (stdinLines) {
    await stdinLines.next();
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
}

// subscribe follows the order at url from the cursor until the server
// completes the subscription (it resolves) or it fails (it rejects with what
// graphql-ws rejected with).
async function subscribe(url) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0, // reconnecting, to another replica, is this script's
    connectionParams: process.env.ORDERFLOW_TOKEN ? { Authorization: `Bearer ${process.env.ORDERFLOW_TOKEN}` } : {},
  });
  const variables = { id: orderId };
  if (cursor !== null) variables.afterVersion = cursor;
  try {
    for await (const payload of client.iterate({ query: QUERY, variables })) {
      received++;
      emit({ event: 'next', url, payload });
      if (payload.errors?.length) {
        fail(1, `payload ${received} has errors: ${JSON.stringify(payload.errors)}`);
      }
      const version = payload.data?.orderStatusChanged?.version;
      if (Number.isInteger(version)) cursor = version;
    }
  } finally {
    client.dispose();
  }
}

for (let attempt = 0; ; attempt++) {
  const url = urls[attempt % urls.length];
  if (attempt > 0) emit({ event: 'resubscribe', url, afterVersion: cursor });
  try {
    await subscribe(url);
    emit({ event: 'complete', url });
    break;
  } catch (err) {
    const reason = lostConnection(err);
    if (reason === null) fail(1, describe(err));
    emit({ event: 'lost', url, reason, afterVersion: cursor });
    if (attempt >= MAX_RECONNECTS) fail(1, `connection lost ${attempt + 1} times, last at ${url}: ${reason}`);
    process.stderr.write(`resume: lost ${url} (${reason}); resuming after version ${cursor ?? 'none'}\n`);
    await waitToReconnect(attempt + 1);
  }
}

clearTimeout(timer);
process.stderr.write(`resume: completed after ${received} payload(s)\n`);
process.exit(0);
