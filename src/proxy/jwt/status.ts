// Why a request failed JWT verification, coded: each code is one of Envoy's
// jwt_verify statuses, and its text is the body Envoy sends (clients and
// tests match on these strings, as on Envoy's).

export const JWT_STATUS = {
  JwtMissed: 'Jwt is missing',
  JwtNotYetValid: 'Jwt not yet valid',
  JwtExpired: 'Jwt is expired',
  JwtBadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  JwtHeaderParseErrorBadBase64: 'Jwt header is an invalid Base64url encoded',
  JwtHeaderParseErrorBadJson: 'Jwt header is an invalid JSON',
  JwtHeaderBadAlg: 'Jwt header [alg] field is required and must be a string',
  JwtHeaderNotImplementedAlg: 'Jwt header [alg] is not supported',
  JwtHeaderBadKid: 'Jwt header [kid] field is not a string',
  JwtPayloadParseErrorBadBase64: 'Jwt payload is an invalid Base64url encoded',
  JwtEd25519SignatureWrongLength: 'Jwt ED25519 signature is wrong length',
  JwtPayloadParseErrorBadJson: 'Jwt payload is an invalid JSON',
  JwtPayloadParseErrorIssNotString: 'Jwt payload [iss] field is not a string',
  JwtPayloadParseErrorSubNotString: 'Jwt payload [sub] field is not a string',
  JwtPayloadParseErrorIatNotInteger: 'Jwt payload [iat] field is not an integer',
  JwtPayloadParseErrorIatOutOfRange: 'Jwt payload [iat] field is not a positive 64 bit integer',
  JwtPayloadParseErrorNbfNotInteger: 'Jwt payload [nbf] field is not an integer',
  JwtPayloadParseErrorNbfOutOfRange: 'Jwt payload [nbf] field is not a positive 64 bit integer',
  JwtPayloadParseErrorExpNotInteger: 'Jwt payload [exp] field is not an integer',
  JwtPayloadParseErrorExpOutOfRange: 'Jwt payload [exp] field is not a positive 64 bit integer',
  JwtPayloadParseErrorJtiNotString: 'Jwt payload [jti] field is not a string',
  JwtPayloadParseErrorAudNotString: 'Jwt payload [aud] field is not a string or string list',
  JwtSignatureParseErrorBadBase64: 'Jwt signature is an invalid Base64url encoded',
  JwtUnknownIssuer: 'Jwt issuer is not configured',
  JwtAudienceNotAllowed: 'Audiences in Jwt are not allowed',
  JwtVerificationFail: 'Jwt verification fails',
  JwksParseError: 'Jwks is an invalid JSON',
  JwksNoKeys: 'Jwks does not have [keys] field',
  JwksBadKeys: '[keys] in Jwks is not an array',
  JwksNoValidKeys: "Jwks doesn't have any valid public key",
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFail: 'Jwks remote fetch is failed',
} as const;

export type JwtStatus = keyof typeof JWT_STATUS;

/** Envoy answers 403 for a token whose audience is not allowed, 401 for
 *  every other failure (jwt_authn filter.cc, onComplete). */
export function httpStatusOf(s: JwtStatus): 401 | 403 {
  return s === 'JwtAudienceNotAllowed' ? 403 : 401;
}
