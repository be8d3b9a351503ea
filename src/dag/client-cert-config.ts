// Client certificates in ProxyConfig: what a TLS virtual host forwards to
// its upstreams of the certificate a client presented, in the
// X-Forwarded-Client-Cert header (Envoy's forward_client_cert_details
// SANITIZE_SET with set_current_client_cert_details, as Contour sets them
// from clientValidation.forwardClientCertificate). Hash is always sent, as
// Envoy does.

export interface ForwardClientCertificate {
  subject: boolean;
  /** The leaf, URL-encoded PEM. */
  cert: boolean;
  /** The whole chain the client sent, leaf first, URL-encoded PEM. */
  chain: boolean;
  dns: boolean;
  uri: boolean;
}
