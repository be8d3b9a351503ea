// TLS wire helpers shared by the balancer and the proxy.
export { readClientHello, DEFAULT_MAX_CLIENT_HELLO } from './client-hello.ts';
export type { ClientHello, ClientHelloRead } from './client-hello.ts';
export { peekClientHello } from './peek-client-hello.ts';
export type { PeekOptions, Peeked } from './peek-client-hello.ts';
