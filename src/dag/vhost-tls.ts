// Virtual host TLS termination (contour-semantics section e, rules 43-48):
// the secretName / passthrough / versions / fallback / client validation
// checks of computeHTTPProxy, in Contour's order.
import type { IsobarConfig } from '../config/index.ts';
import type { TlsVersion } from './proxy-config.ts';
import type { NProxy, NVirtualHost } from './model.ts';
import type { CacheView } from './cache-view.ts';
import type { Output, SecureDraft } from './output.ts';
import type { Condition } from './status.ts';
import { pkey, splitRef } from './refs.ts';

export interface TlsEnv {
  view: CacheView;
  config: IsobarConfig;
  out: Output;
}

export function tlsVersion(v: string, dflt: TlsVersion): TlsVersion {
  return v === '1.2' || v === '1.3' ? v : dflt;
}

export function isBlank(s: string): boolean {
  return s.trim() === '';
}

/** The TLS block of a root. null after a fatal error was recorded;
 *  otherwise whether TLS is enabled and the committed secure virtual host
 *  (null for passthrough until a TCPProxy or route needs it). */
export function processVirtualHostTls(
  env: TlsEnv,
  cond: Condition,
  proxy: NProxy,
  vh: NVirtualHost,
): { tlsEnabled: boolean; secure: SecureDraft | null } | null {
  const tls = vh.tls;
  let tlsEnabled = false;
  let secure: SecureDraft | null = null;
  if (tls) {
    if (tls.passthrough && tls.enableFallbackCertificate) {
      cond.addError('TLSError', 'TLSIncompatibleFeatures', 'Spec.VirtualHost.TLS: both Passthrough and enableFallbackCertificate were specified');
    }
    if (!isBlank(tls.secretName) && tls.passthrough) {
      cond.addError('TLSError', 'TLSConfigNotValid', 'Spec.VirtualHost.TLS: both Passthrough and SecretName were specified');
      return null;
    }
    if (isBlank(tls.secretName) && !tls.passthrough) {
      cond.addError('TLSError', 'TLSConfigNotValid', 'Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified');
      return null;
    }
    if (tls.passthrough && tls.clientValidation) {
      cond.addError('TLSError', 'TLSIncompatibleFeatures', 'Spec.VirtualHost.TLS passthrough cannot be combined with tls.clientValidation');
      return null;
    }
    tlsEnabled = true;
    if (!tls.passthrough) {
      const ref = splitRef(tls.secretName, proxy.namespace);
      if (!env.view.delegationPermitted(ref.namespace, ref.name, proxy.namespace)) {
        cond.addError('TLSError', 'DelegationNotPermitted', `Spec.VirtualHost.TLS Secret "${tls.secretName}" certificate delegation not permitted`);
        return null;
      }
      const sec = env.view.tlsSecret(ref.namespace, ref.name);
      if (!sec.ok) {
        cond.addError('TLSError', 'SecretNotValid', `Spec.VirtualHost.TLS Secret "${tls.secretName}" is invalid: ${sec.error}`);
        return null;
      }
      const minV = tlsVersion(tls.minimumProtocolVersion, '1.2');
      const maxV = tlsVersion(tls.maximumProtocolVersion, '1.3');
      if (maxV < minV) {
        cond.addError(
          'TLSError',
          'TLSConfigNotValid',
          'Spec.Virtualhost.TLS the minimum protocol version is greater than the maximum protocol version',
        );
        return null;
      }
      const draft: Partial<SecureDraft> = { secretId: pkey(ref.namespace, ref.name), minVersion: minV, maxVersion: maxV, fallbackCertificate: false };
      if (tls.enableFallbackCertificate && tls.clientValidation) {
        cond.addError('TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & client validation are incompatible');
        return null;
      }
      if (tls.enableFallbackCertificate && vh.authorization) {
        cond.addError('TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & client authorization are incompatible');
        return null;
      }
      if (tls.enableFallbackCertificate && vh.jwtProviders.length > 0) {
        cond.addError('TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & JWT providers are incompatible');
        return null;
      }
      let fallback: { id: string; certPem: string; keyPem: string } | null = null;
      if (tls.enableFallbackCertificate) {
        const fb = env.config.tls?.fallbackCertificate;
        if (!fb) {
          cond.addError(
            'TLSError',
            'FallbackNotPresent',
            'Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file',
          );
          return null;
        }
        const id = pkey(fb.namespace, fb.name);
        if (!env.view.delegationPermitted(fb.namespace, fb.name, proxy.namespace)) {
          cond.addError('TLSError', 'FallbackNotDelegated', `Spec.VirtualHost.TLS Secret "${id}" is not configured for certificate delegation`);
          return null;
        }
        const fs = env.view.tlsSecret(fb.namespace, fb.name);
        if (!fs.ok) {
          cond.addError('TLSError', 'FallbackNotValid', `Spec.Virtualhost.TLS Secret "${id}" fallback certificate is invalid: ${fs.error}`);
          return null;
        }
        fallback = { id, ...fs.value };
        draft.fallbackCertificate = true;
      }
      if (tls.clientValidation) {
        const cv = tls.clientValidation;
        let caPem: string | null = null;
        let caId = '';
        if (cv.caSecret !== '') {
          const ca = clientValidationSecret(env, cond, proxy.namespace, 'CA', cv.caSecret);
          if (ca === null) return null;
          ({ id: caId, pem: caPem } = ca);
        } else if (!cv.skipClientCertValidation) {
          cond.addError('TLSError', 'ClientValidationInvalid', 'Spec.VirtualHost.TLS client validation is invalid: CA Secret must be specified');
        }
        let crlPem: string | null = null;
        let crlId = '';
        if (cv.crlSecret !== '') {
          const crl = clientValidationSecret(env, cond, proxy.namespace, 'CRL', cv.crlSecret);
          if (crl === null) return null;
          ({ id: crlId, pem: crlPem } = crl);
        }
        const clientValidation: NonNullable<SecureDraft['clientValidation']> = {
          skipVerification: cv.skipClientCertValidation,
          optional: cv.optionalClientCertificate,
        };
        if (caPem !== null) {
          const id = crlPem !== null ? `${caId}+crl:${crlId}` : caId;
          env.out.addCaBundle(crlPem !== null ? { id, caPem, crlPem } : { id, caPem });
          clientValidation.caBundleId = id;
        }
        // As Contour: the leaf-only CRL check matters only with a CRL.
        if (crlPem !== null && cv.crlOnlyVerifyLeafCert) clientValidation.crlOnlyVerifyLeafCert = true;
        if (cv.forwardClientCertificate) clientValidation.forwardClientCertificate = { ...cv.forwardClientCertificate };
        draft.clientValidation = clientValidation;
      }
      // Everything the secure virtual host needs checked out: commit it.
      secure = env.out.ensureHttps(vh.fqdn);
      Object.assign(secure, draft);
      env.out.addSecret({ id: draft.secretId!, ...sec.value });
      if (fallback) {
        env.out.addSecret({ id: fallback.id, certPem: fallback.certPem, keyPem: fallback.keyPem });
        env.out.fallbackCertificateId = fallback.id;
      }
    }
  }

  return { tlsEnabled, secure };
}

/** The CA or CRL Secret of clientValidation, delegation first (rule 48);
 *  null after recording the (fatal) error. */
function clientValidationSecret(
  env: TlsEnv,
  cond: Condition,
  proxyNamespace: string,
  what: 'CA' | 'CRL',
  written: string,
): { id: string; pem: string } | null {
  const ref = splitRef(written, proxyNamespace);
  const id = pkey(ref.namespace, ref.name);
  if (!env.view.delegationPermitted(ref.namespace, ref.name, proxyNamespace)) {
    cond.addError('TLSError', 'DelegationNotPermitted', `Spec.VirtualHost.TLS ${what} Secret "${written}" is invalid: certificate delegation not permitted`);
    return null;
  }
  const secret = what === 'CA' ? env.view.caSecret(ref.namespace, ref.name) : env.view.crlSecret(ref.namespace, ref.name);
  if (!secret.ok) {
    cond.addError('TLSError', 'ClientValidationInvalid', `Spec.VirtualHost.TLS client validation is invalid: invalid ${what} Secret "${id}": ${secret.error}`);
    return null;
  }
  return { id, pem: secret.value };
}
