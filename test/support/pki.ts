// Tests generate their certificates with the same code the quickstart uses.
export * from '../../src/demo/pki.ts';
