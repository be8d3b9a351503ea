// The admin web page in a real browser: headless Chromium (Debian's
// `chromium`, driven with playwright-core) loads `/` from a running
// `isobar serve` and the test reads the rendered DOM: virtual hosts with
// their statuses, a broken HTTPProxy with its error, live rates, a new
// manifest and a target's health change appearing without a reload, and a
// click showing an object's conditions and config. It saves a screenshot
// (ISOBAR_PAGE_SCREENSHOT names where; the README's is docs/page.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { freeOffset, freePort, startServe, type ServeProcess } from './support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function manifests(backendPort: number, certPem: string, keyPem: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
---
# A load balancer straight to the backend, checked every 5 s (the NLB's
# shortest interval), 2 checks to change state.
apiVersion: v1
kind: Service
metadata:
  name: direct
  namespace: shop
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "5"
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-healthy-threshold: "2"
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-unhealthy-threshold: "2"
spec:
  type: LoadBalancer
  ports: [{port: 90, targetPort: ${backendPort}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: direct, namespace: shop}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: ${backendPort}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80, targetPort: ${backendPort}}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: ${backendPort}}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: shop}
type: kubernetes.io/tls
data:
  tls.crt: ${b64(certPem)}
  tls.key: ${b64(keyPem)}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: shop, namespace: shop}
spec:
  virtualhost: {fqdn: shop.example.test, tls: {secretName: shop-tls}}
  routes:
  - conditions: [{prefix: /api}]
    services: [{name: web, port: 80, weight: 90}, {name: web, port: 80, weight: 10}]
  - services: [{name: web, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: shop}
spec:
  virtualhost: {fqdn: app.example.test}
  routes:
  - services: [{name: web, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: broken, namespace: shop}
spec:
  virtualhost: {fqdn: broken.example.test}
  routes:
  - services: [{name: missing, port: 80}]
`;
}

const card = (page: Page, id: string) => page.locator(`.card[data-id="${id}"]`).first();

test('the page in headless Chromium: statuses, errors, rates and changes without a reload', { timeout: 240_000 }, async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: install it (Debian: apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`,
  );
  const work = await mkdtemp(join(tmpdir(), 'isobar-page-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  let backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'web' });
  const backendPort = backend.port;
  t.after(() => backend.close());
  const leaf = await (await createCa()).issue({ dnsNames: ['shop.example.test'], notAfterDays: 75 });
  await writeFile(join(dir, 'all.yaml'), manifests(backendPort, leaf.certPem, leaf.keyPem));

  const httpPort = await freePort();
  const offset = await freeOffset([80, 90]);
  let serve: ServeProcess | undefined;
  serve = await startServe(
    [dir, '--workers', '1', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--lb-port-offset', String(offset), '--state-dir', join(work, 'state'), '--no-access-log'],
    await freePort(),
  );
  t.after(() => serve?.stop());

  const browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${serve.adminPort}/`);

  // The virtual hosts and their statuses; the broken HTTPProxy in red with its error.
  await card(page, 'vh:http/app.example.test').waitFor({ timeout: 20_000 });
  assert.equal(await card(page, 'vh:http/app.example.test').getAttribute('data-status'), 'ok');
  assert.equal(await card(page, 'vh:https/shop.example.test').getAttribute('data-status'), 'ok');
  assert.equal(await card(page, 'hp:shop/broken').getAttribute('data-status'), 'error');
  assert.match(await card(page, 'hp:shop/broken').locator('.message').innerText(), /service "shop\/missing" not found/);
  assert.equal(await card(page, 'vh:http/broken.example.test').getAttribute('data-status'), 'error');
  assert.equal(await page.locator('#connection').innerText(), 'live');
  assert.match(await card(page, 'cert:secret/shop/shop-tls').innerText(), /expires in 7[45] days/);
  assert.equal(await page.locator('.column[data-column="lb-listener"] .card').count(), 2);
  await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));

  // Live rates: traffic through the proxy shows up on its virtual host.
  // (node:http: fetch may not set Host)
  const traffic = setInterval(() => {
    http.get({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'app.example.test' }, agent: false }, (res) => res.resume()).on('error', () => undefined);
  }, 50);
  t.after(() => clearInterval(traffic));
  await card(page, 'vh:http/app.example.test').locator('.rate').filter({ hasText: /^(?!0 )[\d.]+ req\/s/ }).waitFor({ timeout: 20_000 });
  assert.match(await card(page, 'vh:http/app.example.test').locator('.rate').innerText(), /^[1-9][\d.]* req\/s|^0\.\d+ req\/s/);

  // A manifest saved while the page is open appears without a reload.
  const t0 = Date.now();
  await writeFile(join(dir, 'late.yaml'), 'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: late, namespace: shop}\nspec:\n  virtualhost: {fqdn: late.example.test}\n  routes:\n  - services: [{name: web, port: 80}]\n');
  await card(page, 'vh:http/late.example.test').waitFor({ timeout: 20_000 });
  t.diagnostic(`a new HTTPProxy appeared on the page ${Date.now() - t0} ms after it was saved`);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce), true, 'the page was not reloaded');

  // A click shows the object's conditions and its part of the config.
  await card(page, 'hp:shop/broken').click();
  const details = page.locator('#details');
  await details.locator('.conditions').waitFor({ timeout: 10_000 });
  assert.match(await details.locator('.conditions').innerText(), /ServiceError\/ServiceUnresolvedReference/);
  assert.match(await details.locator('.config pre').innerText(), /vh:http\/broken\.example\.test/);
  await card(page, 'vh:https/shop.example.test').click();
  await details.locator('.config pre').filter({ hasText: '"secretId": "shop/shop-tls"' }).waitFor({ timeout: 10_000 });
  assert.doesNotMatch(await details.innerText(), /PRIVATE KEY/);

  // Target health changes appear as the load balancer's checks see them.
  const target = card(page, 'lb:shop/direct:90').locator('.target');
  await card(page, 'lb:shop/direct:90').locator('.target[data-health="healthy"]').waitFor({ timeout: 40_000 });
  await backend.close();
  const t1 = Date.now();
  await card(page, 'lb:shop/direct:90').locator('.target[data-health="unhealthy"]').waitFor({ timeout: 40_000 });
  t.diagnostic(`the target turned unhealthy on the page ${Date.now() - t1} ms after its backend stopped`);
  assert.match(await target.innerText(), /unhealthy/);
  assert.equal(await card(page, 'lb:shop/direct:90').getAttribute('data-status'), 'warning');
  backend = await startDemoBackend({ host: '127.0.0.1', port: backendPort, name: 'web' });
  await card(page, 'lb:shop/direct:90').locator('.target[data-health="healthy"]').waitFor({ timeout: 40_000 });
  assert.equal(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce), true, 'still the same page');

  // The picture for the README: the TLS virtual host still selected, its path lit.
  assert.match((await card(page, 'vh:https/shop.example.test').getAttribute('class')) ?? '', /\bselected\b/);
  await page.waitForTimeout(300);
  const shot = resolve(process.env.ISOBAR_PAGE_SCREENSHOT ?? join(work, 'page.png'));
  await page.screenshot({ path: shot, fullPage: true });
  const png = await readFile(shot);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.deepEqual(pageErrors, []);
});
