// nginx started as root drops its workers to an unprivileged user that cannot
// read the benchmark's files under the checkout; run them as the invoking
// user instead. Not root: no line (nginx keeps the current user).

import os from 'node:os';

export function workerUser(): string {
  return process.getuid?.() === 0 ? `user ${os.userInfo().username};` : '';
}
