import assert from 'node:assert/strict';
import { parseConfig, ConfigError, formatProblem } from '../../src/config/index.ts';

/** The problems config text has, formatted; fails when it loads. */
export function configProblems(text: string, file = 'isobar.yaml'): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map(formatProblem);
  }
  assert.fail('expected a ConfigError');
}
