/**
 * A minimal client of the graphql-ws protocol ("graphql-transport-ws") for one subscription on
 * the API's own /graphql: init, subscribe, deliver each `next`, answer pings, and close cleanly.
 */
export interface SubscriptionHandlers<Data> {
  next: (data: Data) => void;
  error: (error: Error) => void;
  complete: () => void;
}

export function subscribe<Data>(query: string, variables: Record<string, unknown>, handlers: SubscriptionHandlers<Data>): () => void {
  const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`;
  const socket = new WebSocket(url, 'graphql-transport-ws');
  let finished = false;
  const finish = (error?: Error) => {
    if (finished) return;
    finished = true;
    if (error) handlers.error(error);
    else handlers.complete();
  };
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { type: string; payload?: any };
    if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    else if (message.type === 'next') {
      if (message.payload?.errors?.length) finish(new Error(message.payload.errors.map((entry: { message: string }) => entry.message).join('; ')));
      else handlers.next(message.payload.data as Data);
    } else if (message.type === 'error') finish(new Error((message.payload ?? []).map((entry: { message: string }) => entry.message).join('; ') || 'subscription refused'));
    else if (message.type === 'complete') {
      finish();
      socket.close(1000);
    }
  };
  socket.onerror = () => finish(new Error(`no subscription connection at ${url}`));
  socket.onclose = (event) => finish(event.code === 1000 ? undefined : new Error(`subscription closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`));
  return () => {
    finished = true;
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    socket.close(1000);
  };
}
