// What the proxy needs to apply a virtual host's CORS policy (Envoy's CORS
// filter as Contour configures it). Header lists are joined with ",", as
// Contour writes them into Envoy's CorsPolicy.

export interface CorsOrigin {
  /** exact: compared without regard to case; "*" allows every origin.
   *  regex: RE2 syntax, matched against the whole Origin. */
  kind: 'exact' | 'regex';
  value: string;
}

export interface CorsConfig {
  allowOrigin: CorsOrigin[];
  allowMethods: string;
  /** "" when not set. */
  allowHeaders: string;
  exposeHeaders: string;
  /** Seconds, as the access-control-max-age value; "" when not set. */
  maxAge: string;
  allowCredentials: boolean;
  allowPrivateNetwork: boolean;
  /** Access-Control-Expose-Headers on preflight answers too: the Gateway
   *  API's HTTPCORSFilter asks for it (its conformance test checks it);
   *  Envoy's CORS filter, which HTTPProxy's corsPolicy is, sends it only
   *  on actual responses. */
  exposeOnPreflight?: true;
}
