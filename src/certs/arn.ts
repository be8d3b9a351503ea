// ACM-style certificate ARNs: arn:<partition>:acm:<region>:<account>:certificate/<uuid>.

import { randomUUID } from 'node:crypto';
import { CertsError } from './errors.ts';

export interface ArnParts {
  partition: string;
  region: string;
  account: string;
  id: string;
}

export const DEFAULT_REGION = 'local';
export const DEFAULT_ACCOUNT = '000000000000';

const ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):acm:([a-z0-9-]+):([0-9]{12}):certificate\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const REGION_RE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const ACCOUNT_RE = /^[0-9]{12}$/;
const EXAMPLE = 'arn:aws:acm:us-east-2:123456789012:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';

export function parseArn(arn: string): ArnParts {
  const m = ARN_RE.exec(arn);
  if (!m) {
    throw new CertsError('BAD_ARN', `${JSON.stringify(arn)} is not a certificate ARN: expected arn:aws:acm:<region>:<12-digit account>:certificate/<lower-case uuid>, for example ${EXAMPLE}`);
  }
  return { partition: m[1]!, region: m[2]!, account: m[3]!, id: m[4]! };
}

export function checkRegion(region: string): string {
  if (!REGION_RE.test(region) || region.length > 32) {
    throw new CertsError('BAD_INPUT', `region ${JSON.stringify(region)} is not a region name (lower-case letters, digits and dashes, e.g. us-east-2 or local)`);
  }
  return region;
}

export function checkAccount(account: string): string {
  if (!ACCOUNT_RE.test(account)) throw new CertsError('BAD_INPUT', `account ${JSON.stringify(account)} is not a 12-digit AWS account id`);
  return account;
}

export function newArn(region = DEFAULT_REGION, account = DEFAULT_ACCOUNT): string {
  return `arn:aws:acm:${checkRegion(region)}:${checkAccount(account)}:certificate/${randomUUID()}`;
}
