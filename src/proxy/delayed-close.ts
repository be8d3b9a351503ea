// Envoy's delayed close (timeouts.delayed-close-timeout): a connection the
// proxy closes after writing is half-closed (FIN) once its last bytes are
// flushed, and its socket is closed when the client closes its side, or
// after the delay. Closed at once, a socket that still receives (a request
// the client pipelined, or any byte it sends before it has read the
// response) answers with RST, and a client's TCP stack may then drop the
// response it has not read yet.
import type net from 'node:net';

const kClosing = Symbol('isobar.delayedClose');

type Sock = net.Socket & { [kClosing]?: true };

/** The connection is in its delayed close: what it still receives is read and dropped. */
export function inDelayedClose(socket: net.Socket): boolean {
  return (socket as Sock)[kClosing] === true;
}

/** Closes the socket `delayMs` after its FIN unless the peer closes first. */
function closeAfterFin(socket: Sock, delayMs: number): void {
  socket[kClosing] = true;
  const finished = (): void => {
    if (socket.destroyed) return;
    if (delayMs <= 0 || socket.readableEnded) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), delayMs);
    socket.once('close', () => clearTimeout(timer));
    // Read on: the peer's FIN is what ends the wait.
    socket.resume();
  };
  if (socket.writableFinished) finished();
  else socket.once('finish', finished);
}

/** HTTP/1: node:http (and the pipeline) end a connection with destroySoon(),
 *  which destroys the socket as soon as its FIN is flushed. */
export function delayHttp1Close(socket: net.Socket, delayMs: number): void {
  const s = socket as Sock;
  s.destroySoon = function destroySoon(this: Sock): void {
    if (this[kClosing] === undefined) closeAfterFin(this, delayMs);
    if (this.writable) this.end();
  };
}

/** HTTP/2: node:http2 ends the socket after the final GOAWAY once every
 *  stream is done (and waits for the peer's FIN for as long as it takes);
 *  `delayMs` 0 closes it as soon as the FIN is flushed. */
export function delayHttp2Close(socket: net.Socket, delayMs: number): void {
  closeAfterFin(socket as Sock, delayMs);
}
