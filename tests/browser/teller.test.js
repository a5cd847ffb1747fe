'use strict';
// The teller page (web/) in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core from node_modules/) against the real mondux binary and a fresh database.
//
//   node tests/browser/teller.test.js MONDUX_BINARY OUTPUT_DIR
//
// Like the functional suites it needs MX_TEST_PGHOST (the cluster's socket directory),
// MX_TEST_PGPORT and MX_TEST_PGUSER (a superuser), as scripts/test provides, and fails without
// them. It creates its own database, starts mondux on it with PORT=0, reads the port from the
// "listening" line on stderr, and at the end stops it with SIGTERM (it must exit 0) and drops the
// database. Screenshots and the server's output go to OUTPUT_DIR. MX_CHROMIUM overrides the
// browser's path.
//
// Nothing here sleeps: every wait is for a condition on the page (Playwright's waiting) or for a
// process event, and each is bounded.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [binary, outputDir] = process.argv.slice(2);
const WEB_DIR = path.resolve(__dirname, '../../web');
const CHROMIUM = process.env.MX_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 15000;
const TEST_OPTIONS = { timeout: 60000 };

function die(message) {
  process.stderr.write('teller.test.js: ' + message + '\n');
  process.exit(2);
}

if (!binary || !outputDir) {
  die('usage: node teller.test.js MONDUX_BINARY OUTPUT_DIR');
}
const pg = {
  host: process.env.MX_TEST_PGHOST,
  port: process.env.MX_TEST_PGPORT,
  user: process.env.MX_TEST_PGUSER,
};
if (!pg.host || !pg.port || !pg.user) {
  die('MX_TEST_PGHOST, MX_TEST_PGPORT and MX_TEST_PGUSER must name a PostgreSQL cluster ' +
      '(scripts/test sets them; or start one with scripts/lib/pg-cluster). Failing rather than skipping.');
}
try {
  fs.accessSync(CHROMIUM, fs.constants.X_OK);
} catch (e) {
  die(CHROMIUM + ' is missing: install Debian\'s chromium (scripts/lib/deps chromium) or set MX_CHROMIUM.');
}
fs.mkdirSync(outputDir, { recursive: true });

// ---- the database and the server ------------------------------------------------------------

function psql(sql) {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', pg.port, '-U', pg.user,
    '-d', 'postgres', '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const database = 'mx_browser_' + process.pid + '_' + crypto.randomBytes(4).toString('hex');
let server = null; // the mondux child process
let baseUrl = '';

// Starts mondux and resolves with its URL once it prints the listening line.
function startServer(extraEnv = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(PORT|HOST|DATABASE_URL|API_DB.*|MX_.*)$/.test(name)) {
      env[name] = value;
    }
  }
  env.PORT = '0';
  env.HOST = '127.0.0.1';
  env.DATABASE_URL = `host=${pg.host} port=${pg.port} user=${pg.user} dbname=${database}`;
  Object.assign(env, extraEnv);
  const log = fs.openSync(path.join(outputDir, 'mondux.stdout.log'), 'w');
  server = spawn(binary, [], { env, stdio: ['ignore', log, 'pipe'] });
  fs.closeSync(log);
  const errLog = fs.createWriteStream(path.join(outputDir, 'mondux.stderr.log'));
  server.stderr.pipe(errLog);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('mondux did not say it was listening within 30 s:\n' + seen)), 30000);
    server.stderr.on('data', (chunk) => {
      seen += chunk.toString();
      const found = /mondux: listening on (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(seen);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`mondux exited (${code ?? signal}) before listening:\n${seen}`));
    });
  });
}

// SIGTERM, then the exit status (a signal name if it died of one).
function stopServer() {
  if (server === null || server.exitCode !== null || server.signalCode !== null) {
    return Promise.resolve(server === null ? 0 : server.exitCode ?? server.signalCode);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.kill('SIGKILL'), 30000);
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    server.kill('SIGTERM');
  });
}

// Never leave a server behind, whatever happened.
process.on('exit', () => {
  if (server !== null && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGKILL');
  }
});

// ---- the API, from the test's side ----------------------------------------------------------

async function api(method, urlPath) {
  const response = await fetch(baseUrl + urlPath, { method });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : null };
}

async function createAccountViaApi() {
  const answer = await api('POST', '/api/accounts');
  assert.equal(answer.status, 201, answer.text);
  return answer.json.account_number;
}

async function balanceViaApi(number) {
  const answer = await api('GET', `/api/accounts/${number}/balance`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.balance;
}

async function entriesViaApi(number) {
  const answer = await api('GET', `/api/accounts/${number}/transactions?limit=100`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.transactions;
}

// ---- the browser ------------------------------------------------------------------------------

let browser = null;

// A fresh browser context (its own localStorage) with the page loaded. `problems` collects what
// must never happen: script errors and console errors such as CSP violations. Answers the test
// provokes (404, 409) and aborted requests are logged by Chromium as "Failed to load resource";
// the tests check those answers themselves.
async function openPage(viewport = { width: 1024, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push('page error: ' + error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push('console error: ' + message.text());
    }
  });
  const requests = [];
  page.on('request', (request) => requests.push(request));
  await page.goto(baseUrl + '/');
  return { context, page, problems, requests };
}

async function closePage({ context, problems }) {
  await context.close();
  assert.deepEqual(problems, [], 'the page reported problems');
}

// Waits until the page has finished its action (its buttons are aria-disabled meanwhile).
// Playwright's click() waits for that by itself; key presses don't.
async function idle(page) {
  await page.waitForFunction(() => document.querySelector('button[aria-disabled="true"]') === null,
    null, { timeout: WAIT_MS });
}

// Waits until the element's text is exactly `expected`; on time-out, says what it was instead.
async function waitForText(page, selector, expected) {
  try {
    await page.waitForFunction(([s, e]) => {
      const element = document.querySelector(s);
      return element !== null && element.textContent === e;
    }, [selector, expected], { timeout: WAIT_MS });
  } catch (error) {
    const actual = await page.textContent(selector).catch(() => '(no element)');
    throw new Error(`${selector}: waited for ${JSON.stringify(expected)}, it shows ${JSON.stringify(actual)}`);
  }
}

async function waitForRows(page, count) {
  await page.waitForFunction((n) => {
    const table = document.getElementById('history');
    return !table.hidden && table.tBodies[0].rows.length === n;
  }, count, { timeout: WAIT_MS });
}

// The history table as arrays of cell texts, newest first.
function historyRows(page) {
  return page.$$eval('#history tbody tr', (rows) => rows.map((row) => Array.from(row.cells, (cell) => cell.textContent)));
}

async function createAccountViaPage(page) {
  await page.getByRole('button', { name: 'Create new account' }).click();
  await page.waitForFunction(() => document.getElementById('create-message').textContent.startsWith('Created account'),
    null, { timeout: WAIT_MS });
  const number = await page.inputValue('#account');
  assert.match(number, /^[0-9]{16}$/);
  await waitForText(page, '#create-message', `Created account ${number}.`);
  return number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The field's aria-invalid and what its aria-describedby points at (role and text of each).
function fieldState(page, selector) {
  return page.$eval(selector, (field) => ({
    invalid: field.getAttribute('aria-invalid'),
    descriptions: (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean).map((id) => {
      const element = document.getElementById(id);
      return element === null ? { id, missing: true } : { id, role: element.getAttribute('role'), text: element.textContent };
    }),
  }));
}

// The field is aria-invalid and described by a role="alert" element saying `text`.
async function assertInvalid(page, selector, text) {
  const state = await fieldState(page, selector);
  assert.equal(state.invalid, 'true', selector + ' is not aria-invalid');
  assert.ok(state.descriptions.some((d) => d.role === 'alert' && d.text === text),
    `${selector} is not described by an alert saying ${JSON.stringify(text)}: ${JSON.stringify(state.descriptions)}`);
  assert.ok(state.descriptions.every((d) => !d.missing), JSON.stringify(state.descriptions));
}

// The field is not marked invalid and no alert describes it.
async function assertValid(page, selector) {
  const state = await fieldState(page, selector);
  assert.equal(state.invalid, null, selector + ' is still aria-invalid');
  assert.ok(state.descriptions.every((d) => d.role !== 'alert' && !d.missing), JSON.stringify(state.descriptions));
}

// "rgb(163, 107, 0)" / "rgba(0, 0, 0, 0)", as getComputedStyle writes colours, → [r, g, b, alpha].
function parseColour(text) {
  const found = /^rgba?\((\d+), (\d+), (\d+)(?:, ([0-9.]+))?\)$/.exec(text);
  assert.ok(found, 'not a computed colour: ' + text);
  return [Number(found[1]), Number(found[2]), Number(found[3]), found[4] === undefined ? 1 : Number(found[4])];
}

// WCAG 2 relative luminance and contrast ratio of two opaque colours.
function luminance([r, g, b]) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function contrast(one, other) {
  const [light, dark] = [luminance(one), luminance(other)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

// ---- the tests ------------------------------------------------------------------------------

describe('teller page', () => {
  before(async () => {
    psql(`CREATE DATABASE ${database}`);
    baseUrl = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Chromium's sandbox cannot start as root (CI containers); elsewhere it stays on.
      args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
  });

  after(async () => {
    if (browser !== null) {
      await browser.close();
    }
    const status = await stopServer();
    psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    assert.equal(status, 0, 'mondux did not exit 0 after SIGTERM; see ' + path.join(outputDir, 'mondux.stderr.log'));
  });

  it('serves web/ byte for byte with an ETag of the bytes, and 304 when it matches', TEST_OPTIONS, async () => {
    for (const [urlPath, file] of [['/', 'index.html'], ['/teller.css', 'teller.css'], ['/teller.js', 'teller.js']]) {
      const bytes = fs.readFileSync(path.join(WEB_DIR, file));
      const etag = '"' + crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 32) + '"';
      const full = await fetch(baseUrl + urlPath);
      assert.equal(full.status, 200);
      assert.equal(full.headers.get('etag'), etag, urlPath);
      assert.ok(Buffer.from(await full.arrayBuffer()).equals(bytes), urlPath + ' is not web/' + file);
      const again = await fetch(baseUrl + urlPath, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304, urlPath);
    }
  });

  it('the Content-Security-Policy stops injected inline script', TEST_OPTIONS, async () => {
    const session = await openPage();
    const { page, context, problems } = session;
    const outcome = await page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (event) => {
        resolve({ directive: event.effectiveDirective, ran: window.injected === true });
      });
      const script = document.createElement('script');
      script.textContent = 'window.injected = true;';
      document.body.append(script);
    }));
    assert.deepEqual(outcome, { directive: 'script-src-elem', ran: false });
    assert.equal(await page.evaluate(() => window.injected), undefined);
    await context.close();
    assert.ok(problems.length > 0 && problems.every((p) => p.includes('Content Security Policy')),
      problems.join('\n'));
  });

  it('create → deposit 12.34 → withdraw 2.34 shows €10.00, the API agrees, and the history lists both',
    TEST_OPTIONS, async () => {
      const session = await openPage();
      const { page, requests } = session;
      const number = await createAccountViaPage(page);
      await waitForText(page, '#balance', '€0.00');
      await waitForText(page, '#history-message', 'No transactions yet.');

      await page.getByLabel('Amount in euros').fill('12.34');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await waitForText(page, '#move-message', 'Deposited €12.34.');
      await waitForText(page, '#balance', '€12.34');
      assert.equal(await page.inputValue('#amount'), '', 'the amount stays after the deposit');

      await page.getByLabel('Amount in euros').fill('2.34');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      await waitForText(page, '#move-message', 'Withdrew €2.34.');
      await waitForText(page, '#balance', '€10.00');
      assert.equal(await page.inputValue('#amount'), '', 'the amount stays after the withdrawal');

      assert.equal(await balanceViaApi(number), 1000);
      await waitForRows(page, 2);
      const rows = await historyRows(page);
      assert.deepEqual(rows.map((cells) => cells.slice(1)), [
        ['Withdrawal', '-€2.34', '€10.00'],
        ['Deposit', '+€12.34', '€12.34'],
      ]);
      const entries = await entriesViaApi(number);
      assert.deepEqual(rows.map((cells) => cells[0]), entries.map((e) => e.created_at.replace('T', ' ').replace('Z', '')));

      // Every request that creates or moves carried its own Idempotency-Key.
      const keyed = requests.filter((r) => r.method() === 'POST');
      assert.equal(keyed.length, 3);
      const keys = keyed.map((r) => r.headers()['idempotency-key']);
      keys.forEach((key) => assert.match(key, UUID));
      assert.equal(new Set(keys).size, 3);

      await page.screenshot({ path: path.join(outputDir, 'teller.png'), fullPage: true });
      await closePage(session);
    });

  it('withdrawing too much says the available balance, read afresh, overdraft included, and changes nothing',
    TEST_OPTIONS, async () => {
      const number = await createAccountViaApi();
      assert.equal((await api('POST', `/api/accounts/${number}/deposit?sum=500`)).status, 200);
      const session = await openPage();
      const { page } = session;
      // Keyboard only: type the number, Enter gets the balance; Enter in the amount field deposits,
      // so the withdrawal is the button reached with Tab.
      await page.getByLabel('Account number').fill(number);
      await page.getByLabel('Account number').press('Enter');
      await waitForText(page, '#balance', '€5.00');
      // Someone else deposits meanwhile: the balance on the page is stale.
      assert.equal((await api('POST', `/api/accounts/${number}/deposit?sum=100`)).status, 200);
      await page.getByLabel('Amount in euros').fill('6.01');
      await page.getByLabel('Amount in euros').press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'withdraw');
      await idle(page);
      await page.keyboard.press('Enter');
      const refused = 'Insufficient funds: the available balance is €6.00.';
      await waitForText(page, '#move-error', refused);
      await waitForText(page, '#balance', '€6.00');
      assert.equal(await page.textContent('#move-message'), '');
      assert.equal(await page.textContent('#account-error'), '');
      await assertInvalid(page, '#amount', refused);
      await assertValid(page, '#account');
      assert.equal(await page.inputValue('#amount'), '6.01', 'a refused amount stays to be corrected');
      assert.equal(await balanceViaApi(number), 600);
      assert.equal((await entriesViaApi(number)).length, 2);

      // An account that may go down to -500.00, already at -300.00: 200.00 may still go.
      const created = await fetch(baseUrl + '/api/accounts', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ overdraft_limit: 50000 }),
      });
      assert.equal(created.status, 201);
      const overdrawn = (await created.json()).account_number;
      assert.equal((await api('POST', `/api/accounts/${overdrawn}/withdraw?sum=30000`)).status, 200);
      await page.getByLabel('Account number').fill(overdrawn);
      await page.getByLabel('Amount in euros').fill('200.01');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      const overdraft = 'Insufficient funds: the available balance is €200.00 ' +
        '(the balance -€300.00 plus an overdraft of €500.00).';
      await waitForText(page, '#move-error', overdraft);
      await waitForText(page, '#balance', '-€300.00');
      await assertInvalid(page, '#amount', overdraft);
      assert.equal(await balanceViaApi(overdrawn), -30000);
      await page.screenshot({ path: path.join(outputDir, 'teller-refused.png'), fullPage: true });

      // The available balance is exactly what may go.
      await page.getByLabel('Amount in euros').fill('200.00');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      await waitForText(page, '#move-message', 'Withdrew €200.00.');
      await waitForText(page, '#balance', '-€500.00');
      assert.equal(await page.textContent('#move-error'), '');
      await assertValid(page, '#amount');
      await closePage(session);
    });

  it('a pending hold shows as less available, and a withdrawal may take only what is available',
    TEST_OPTIONS, async () => {
      const number = await createAccountViaApi();
      assert.equal((await api('POST', `/api/accounts/${number}/deposit?sum=5000`)).status, 200);
      const held = await fetch(baseUrl + `/api/accounts/${number}/holds`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sum: 2000, expires_in: 3600 }),
      });
      assert.equal(held.status, 201);
      const session = await openPage();
      const { page } = session;
      await page.getByLabel('Account number').fill(number);
      await page.getByRole('button', { name: 'Get balance' }).click();
      await waitForText(page, '#balance', '€50.00');
      await waitForText(page, '#available', '€30.00');
      await waitForText(page, '#status', 'active');
      await page.getByLabel('Amount in euros').fill('30.01');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      const refused = 'Insufficient funds: the available balance is €30.00.';
      await waitForText(page, '#move-error', refused);
      assert.equal(await balanceViaApi(number), 5000);
      await page.getByLabel('Amount in euros').fill('30.00');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      await waitForText(page, '#move-message', 'Withdrew €30.00.');
      await waitForText(page, '#balance', '€20.00');
      await waitForText(page, '#available', '€0.00');
      await closePage(session);
    });

  it('a transfer moves the money to the other account once, and the page shows the sender afresh',
    TEST_OPTIONS, async () => {
      const from = await createAccountViaApi();
      const to = await createAccountViaApi();
      assert.equal((await api('POST', `/api/accounts/${from}/deposit?sum=5000`)).status, 200);
      const session = await openPage();
      const { page } = session;
      await page.getByLabel('Account number').fill(from);
      await page.getByLabel('Transfer to account').fill(to);
      await page.getByLabel('Amount to transfer in euros').fill('12.50');
      // A double click transfers once.
      await page.getByRole('button', { name: 'Transfer' }).dblclick();
      await waitForText(page, '#transfer-message', `Transferred €12.50 to ${to}.`);
      await waitForText(page, '#balance', '€37.50');
      await waitForText(page, '#available', '€37.50');
      assert.equal(await balanceViaApi(to), 1250);
      assert.equal(await balanceViaApi(from), 3750);
      assert.equal(await page.inputValue('#transfer-amount'), '', 'a done amount is typed afresh');

      // The API's refusals, next to the form: too much, and the same account twice.
      await page.getByLabel('Amount to transfer in euros').fill('37.51');
      await page.getByRole('button', { name: 'Transfer' }).click();
      await waitForText(page, '#transfer-error', 'insufficient funds');
      await assertInvalid(page, '#transfer-amount', 'insufficient funds');
      await page.getByLabel('Transfer to account').fill(from);
      await page.getByLabel('Amount to transfer in euros').fill('1.00');
      await page.getByRole('button', { name: 'Transfer' }).click();
      await waitForText(page, '#transfer-error', 'from and to must be two different accounts');
      assert.equal(await balanceViaApi(from), 3750);
      await closePage(session);
    });

  it('an account in yen shows and takes whole yen, formatted by the browser for its currency',
    TEST_OPTIONS, async () => {
      const created = await fetch(baseUrl + '/api/accounts', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ currency: 'JPY' }),
      });
      assert.equal(created.status, 201);
      const number = (await created.json()).account_number;
      assert.equal((await api('POST', `/api/accounts/${number}/deposit?sum=1500`)).status, 200);
      const session = await openPage();
      const { page } = session;
      await page.getByLabel('Account number').fill(number);
      await page.getByRole('button', { name: 'Get balance' }).click();
      await waitForText(page, '#balance', '¥1,500');
      assert.equal(await page.textContent('label[for="amount"]'), 'Amount in JPY');
      assert.equal(await page.textContent('#amount-example'), '1234');
      await page.getByLabel('Amount in JPY').fill('12.5');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await waitForText(page, '#move-error', 'Whole amounts only: JPY has no smaller unit.');
      assert.equal(await balanceViaApi(number), 1500);
      await page.getByLabel('Amount in JPY').fill('250');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await waitForText(page, '#move-message', 'Deposited ¥250.');
      await waitForText(page, '#balance', '¥1,750');
      assert.equal(await balanceViaApi(number), 1750);
      // Back to a euro account, the page speaks euros again.
      const euros = await createAccountViaApi();
      await page.getByLabel('Account number').fill(euros);
      await page.getByRole('button', { name: 'Get balance' }).click();
      await waitForText(page, '#balance', '€0.00');
      assert.equal(await page.textContent('label[for="amount"]'), 'Amount in euros');
      await closePage(session);
    });

  it('an unknown account number shows "account does not exist" next to the action', TEST_OPTIONS, async () => {
    const session = await openPage();
    const { page } = session;
    const known = await createAccountViaApi();
    // A real number with its first digit changed, as a typo would: the API answers it like a
    // number nobody has.
    const unknown = known.startsWith('1') ? '2' + known.slice(1) : '1' + known.slice(1);
    await page.getByLabel('Account number').fill(unknown);
    await page.getByRole('button', { name: 'Get balance' }).click();
    await waitForText(page, '#account-error', 'account does not exist');
    await waitForText(page, '#balance', '—');
    await assertInvalid(page, '#account', 'account does not exist');

    await page.getByLabel('Amount in euros').fill('1');
    await page.getByRole('button', { name: 'Deposit' }).click();
    await waitForText(page, '#move-error', 'account does not exist');
    assert.equal(await page.textContent('#account-error'), '');
    await assertInvalid(page, '#account', 'account does not exist');
    await assertValid(page, '#amount');
    await closePage(session);
  });

  it('a new account appears in the list and survives a reload', TEST_OPTIONS, async () => {
    const session = await openPage();
    const { page } = session;
    const first = await createAccountViaPage(page);
    const second = await createAccountViaPage(page);
    assert.notEqual(first, second);
    const listed = () => page.$$eval('#accounts button', (buttons) => buttons.map((b) => b.textContent));
    assert.deepEqual(await listed(), [first, second]);

    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#accounts button').length === 2, null, { timeout: WAIT_MS });
    assert.deepEqual(await listed(), [first, second]);
    assert.equal(await page.isHidden('#accounts-empty'), true);

    // Clicking a listed account selects it.
    await page.getByRole('button', { name: first }).click();
    await waitForText(page, '#balance-of', ' of ' + first);
    await waitForText(page, '#balance', '€0.00');
    assert.equal(await page.inputValue('#account'), first);
    assert.equal(await page.getByRole('button', { name: first }).getAttribute('aria-current'), 'true');
    await closePage(session);
  });

  it('the hint shows the decimal mark the parser accepts; the other one is refused saying so',
    TEST_OPTIONS, async () => {
      const session = await openPage();
      const { page, requests } = session;
      const number = await createAccountViaPage(page);
      // The example the page gives is accepted as it stands, and amounts are shown with its mark.
      const hint = await page.textContent('#amount-hint');
      const example = await page.textContent('#amount-example');
      assert.equal(example, '12.34');
      assert.ok(hint.includes('point') && !/[0-9],[0-9]/.test(hint), hint);
      assert.equal(await page.getAttribute('#amount', 'aria-describedby'), 'amount-hint');
      await page.getByLabel('Amount in euros').fill(example);
      await idle(page);
      await page.getByLabel('Amount in euros').press('Enter'); // Enter deposits
      await waitForText(page, '#balance', '€12.34');
      assert.equal(await balanceViaApi(number), 1234);

      const sent = requests.length;
      const comma = 'Use a point before the cents, not a comma, and no thousands separators: e.g. 1234.56.';
      for (const typed of ['12,34', '1,234.56']) {
        await page.getByLabel('Amount in euros').fill(typed);
        await page.getByRole('button', { name: 'Deposit' }).click();
        await waitForText(page, '#move-error', comma);
        await assertInvalid(page, '#amount', comma);
      }
      await page.getByLabel('Amount in euros').fill('1.234');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await waitForText(page, '#move-error', 'At most two digits after the decimal separator: cents are the smallest unit.');
      assert.equal(requests.length, sent, 'a refused amount was sent');
      assert.equal(await balanceViaApi(number), 1234);

      // The parser and the formatter on their own, in the page.
      const parsed = await page.evaluate((inputs) => inputs.map((text) => parseCents(text)), [
        '12.34', '12', '0.5', ' 7 ', '007.10', '0.01', '90071992547409.91',
        '90071992547409.92', '100000000000000000000', '1.234', '-5', '+5', '−5', '1e3', '12.', '.5',
        '1,234.56', '', '0', '0.00', 'abc', '１２', '1 000', '0x10', 'Infinity', '12.3.4', '12,34', '0,5',
      ]);
      const cents = parsed.map((result) => (result.cents !== undefined ? result.cents : 'error'));
      assert.deepEqual(cents, [
        '1234', '1200', '50', '700', '710', '1', '9007199254740991',
        'error', 'error', 'error', 'error', 'error', 'error', 'error', 'error', 'error',
        'error', 'error', 'error', 'error', 'error', 'error', 'error', 'error', 'error', 'error',
        'error', 'error',
      ]);
      parsed.filter((result) => result.error !== undefined).forEach((result) => assert.ok(result.error.length > 10));
      assert.match(parsed[7].error, /too large/);

      const formatted = await page.evaluate((values) => values.map((v) => formatCents(v)), [
        0, 5, 99, 100, 123456, 100000, -500, -1, 9007199254740991, -9007199254740991,
      ]);
      assert.deepEqual(formatted, [
        '€0.00', '€0.05', '€0.99', '€1.00', '€1,234.56', '€1,000.00', '-€5.00', '-€0.01',
        '€90,071,992,547,409.91', '-€90,071,992,547,409.91',
      ]);
      await closePage(session);
    });

  it('a double click or a retry after a lost answer moves the money once', TEST_OPTIONS, async () => {
    const session = await openPage();
    const { page, requests } = session;
    const number = await createAccountViaPage(page);

    await page.getByLabel('Amount in euros').fill('1.00');
    await page.getByRole('button', { name: 'Deposit' }).dblclick();
    await waitForText(page, '#balance', '€1.00');
    await waitForText(page, '#move-message', 'Deposited €1.00.');
    assert.equal(await balanceViaApi(number), 100);
    assert.equal(await page.inputValue('#amount'), '');

    // The next deposit reaches the server, but its answer is lost on the way back.
    let lost = false;
    await page.route('**/deposit?*', async (route) => {
      if (!lost) {
        lost = true;
        await route.fetch();
        await route.abort('failed');
      } else {
        await route.continue();
      }
    });
    await page.getByLabel('Amount in euros').fill('1.00');
    await page.getByRole('button', { name: 'Deposit' }).click();
    await waitForText(page, '#move-error', 'Could not reach the server. Try again.');
    assert.equal(await balanceViaApi(number), 200); // it did happen
    // No definite answer: the amount stays, so pressing Deposit again is the same request.
    assert.equal(await page.inputValue('#amount'), '1.00');

    const replayed = page.waitForResponse((r) => r.url().includes('/deposit?'), { timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Deposit' }).click();
    assert.equal((await replayed).headers()['idempotent-replayed'], 'true');
    await waitForText(page, '#balance', '€2.00');
    assert.equal(await balanceViaApi(number), 200); // and only once
    assert.equal(await page.inputValue('#amount'), '');
    assert.equal((await entriesViaApi(number)).length, 2);

    const deposits = requests.filter((r) => r.url().includes('/deposit?'));
    const keys = deposits.map((r) => r.headers()['idempotency-key']);
    assert.equal(keys.length, 3);
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[1], keys[2]);

    // After a definite answer the same amount again is a new deposit.
    await page.getByLabel('Amount in euros').fill('1.00');
    await page.getByRole('button', { name: 'Deposit' }).click();
    await waitForText(page, '#balance', '€3.00');
    assert.equal(await balanceViaApi(number), 300);
    await closePage(session);
  });

  it('errors are alerts, and the field they are about is aria-invalid and described by them',
    TEST_OPTIONS, async () => {
      const session = await openPage();
      const { page } = session;
      await assertValid(page, '#account');
      await assertValid(page, '#amount');
      await page.getByRole('button', { name: 'Get balance' }).click();
      await waitForText(page, '#account-error', 'Enter an account number first.');
      assert.equal(await page.getByRole('alert').filter({ hasText: 'Enter an account number first.' }).count(), 1);
      await assertInvalid(page, '#account', 'Enter an account number first.');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'account');

      const number = await createAccountViaPage(page);
      await assertValid(page, '#account');
      await page.getByLabel('Amount in euros').fill('abc');
      await page.getByRole('button', { name: 'Withdraw' }).click();
      const notAmount = 'That is not an amount: use digits, and a point before the cents, e.g. 12.34.';
      await waitForText(page, '#move-error', notAmount);
      await assertInvalid(page, '#amount', notAmount);
      // The hint still describes the field, after the error.
      const state = await fieldState(page, '#amount');
      assert.deepEqual(state.descriptions.map((d) => d.id), ['move-error', 'amount-hint']);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'amount');

      // Corrected and done: the mark and the alert go.
      await page.getByLabel('Amount in euros').fill('3');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await waitForText(page, '#move-message', 'Deposited €3.00.');
      assert.equal(await page.textContent('#move-error'), '');
      await assertValid(page, '#amount');
      assert.equal(await page.getAttribute('#amount', 'aria-describedby'), 'amount-hint');
      assert.equal(await balanceViaApi(number), 300);
      await closePage(session);
    });

  it('every control reached with Tab shows a focus ring of at least 3:1 against what surrounds it',
    TEST_OPTIONS, async () => {
      const session = await openPage();
      const { page } = session;
      await createAccountViaPage(page); // so that the list of accounts has a button too
      await page.click('h1'); // Tab starts from the top of the page
      const seen = [];
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press('Tab');
        const ring = await page.evaluate(() => {
          const element = document.activeElement;
          if (element === null || element === document.body) {
            return null;
          }
          const style = getComputedStyle(element);
          // The ring is drawn outside the control (outline-offset), over its nearest opaque
          // ancestor's background.
          let around = element.parentElement;
          while (around !== null && getComputedStyle(around).backgroundColor === 'rgba(0, 0, 0, 0)') {
            around = around.parentElement;
          }
          return {
            name: element.id || element.textContent,
            focusVisible: element.matches(':focus-visible'),
            style: style.outlineStyle,
            width: parseFloat(style.outlineWidth),
            offset: parseFloat(style.outlineOffset),
            colour: style.outlineColor,
            background: around === null ? 'rgb(255, 255, 255)' : getComputedStyle(around).backgroundColor,
          };
        });
        if (ring !== null && seen.length > 0 && seen[seen.length - 1].name === ring.name) {
          continue; // the next part of the same control (a month field's month and year)
        }
        if (ring === null || seen.some((r) => r.name === ring.name)) {
          break;
        }
        seen.push(ring);
      }
      assert.deepEqual(seen.map((r) => r.name).slice(0, 9),
        ['account', 'get-balance', 'amount', 'deposit', 'withdraw', 'transfer-to',
          'transfer-amount', 'transfer', 'create']);
      assert.deepEqual(seen.map((r) => r.name).slice(10), ['statement-month', 'download-statement']);
      assert.equal(seen.length, 12, JSON.stringify(seen.map((r) => r.name)));
      for (const ring of seen) {
        assert.ok(ring.focusVisible, ring.name);
        assert.equal(ring.style, 'solid', ring.name);
        assert.ok(ring.width >= 2 && ring.offset >= 0, JSON.stringify(ring));
        const colour = parseColour(ring.colour);
        const background = parseColour(ring.background);
        assert.equal(colour[3], 1, 'a translucent ring: ' + ring.colour);
        assert.equal(background[3], 1, 'a translucent background: ' + ring.background);
        const ratio = contrast(colour, background);
        assert.ok(ratio >= 3, `${ring.name}: the focus ring ${ring.colour} on ${ring.background} is ${ratio.toFixed(2)}:1`);
      }
      await page.focus('#deposit');
      await page.locator('#move-form').screenshot({ path: path.join(outputDir, 'teller-focus.png') });
      await closePage(session);
    });

  it('deposit and withdraw look different, each with readable text', TEST_OPTIONS, async () => {
    const session = await openPage();
    const { page } = session;
    const look = (selector) => page.$eval(selector, (button) => {
      const style = getComputedStyle(button);
      return {
        background: style.backgroundColor,
        colour: style.color,
        border: style.borderTopColor,
        icon: button.querySelector('[aria-hidden="true"]').textContent,
      };
    });
    await page.mouse.move(0, 0); // no hover
    const deposit = await look('#deposit');
    const withdraw = await look('#withdraw');
    assert.notEqual(deposit.background, withdraw.background);
    assert.notEqual(deposit.colour, withdraw.colour);
    assert.notEqual(deposit.border, withdraw.border);
    assert.deepEqual([deposit.icon, withdraw.icon], ['+', '−']);
    for (const button of [deposit, withdraw]) {
      const ratio = contrast(parseColour(button.colour), parseColour(button.background));
      assert.ok(ratio >= 4.5, `text ${button.colour} on ${button.background} is ${ratio.toFixed(2)}:1`);
    }
    // The icons are decoration: the buttons are still named just "Deposit" and "Withdraw".
    assert.equal(await page.getByRole('button', { name: 'Deposit', exact: true }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Withdraw', exact: true }).count(), 1);
    await closePage(session);
  });

  it('works at 375 px wide without horizontal scrolling', TEST_OPTIONS, async () => {
    const session = await openPage({ width: 375, height: 812 });
    const { page } = session;
    const number = await createAccountViaPage(page);
    const other = await createAccountViaApi();
    assert.equal((await api('POST', `/api/accounts/${other}/deposit?sum=123456789`)).status, 200);
    const transfer = await fetch(baseUrl + '/api/transfers', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: other, to: number, sum: 123456789 }),
    });
    assert.equal(transfer.status, 201);
    await page.getByLabel('Amount in euros').fill('1234556.78');
    await page.getByRole('button', { name: 'Withdraw' }).click();
    await waitForText(page, '#balance', '€11.11');
    await waitForRows(page, 2);
    const rows = await historyRows(page);
    assert.deepEqual(rows.map((cells) => cells.slice(1)), [
      ['Withdrawal', '-€1,234,556.78', '€11.11'],
      [`Transfer from ${other}`, '+€1,234,567.89', '€1,234,567.89'],
    ]);

    const widths = await page.evaluate(() => ({
      document: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      viewport: window.innerWidth,
    }));
    assert.equal(widths.viewport, 375);
    assert.ok(widths.document <= widths.viewport && widths.body <= widths.viewport,
      `content is wider than the screen: ${JSON.stringify(widths)}`);
    const file = path.join(outputDir, 'teller-375px.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 1000);
    await closePage(session);
  });
  // Last, because it replaces the server with one that wants API keys.
  it('shows the shown account\'s events live as they happen elsewhere, and its balance follows',
    TEST_OPTIONS, async () => {
      const session = await openPage();
      const { page } = session;
      const number = await createAccountViaPage(page);
      await waitForText(page, '#live-message', 'New events of this account appear here as they happen, newest first.');
      const other = await createAccountViaApi();
      assert.equal((await api('PUT', `/api/accounts/${number}/deposit?sum=500`)).status, 200);
      const transfer = await fetch(baseUrl + '/api/transfers', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ from: number, to: other, sum: 125 }),
      });
      assert.equal(transfer.status, 201, await transfer.text());
      // Newest first: the transfer on top, the deposit under it (and the opening of the account
      // under that, when the stream began before it had its place in the feed).
      await page.waitForFunction(() => {
        const top = document.querySelector('#live tbody tr td:nth-child(2)');
        return top !== null && top.textContent.startsWith('Transfer to');
      }, null, { timeout: WAIT_MS });
      const rows = await page.$$eval('#live tbody tr', (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent)));
      const expected = await page.evaluate(() => [formatSignedCents(-125), formatCents(375), formatSignedCents(500), formatCents(500)]);
      assert.deepEqual(rows.slice(0, 2).map((row) => row.slice(1)), [
        ['Transfer to ' + other, expected[0], expected[1]],
        ['Deposit', expected[2], expected[3]],
      ]);
      await waitForText(page, '#balance', expected[1]);
      // Another account shown: its own events only, from then on.
      await page.fill('#account', other);
      await page.getByRole('button', { name: 'Get balance' }).click();
      await waitForText(page, '#live-of', ' of ' + other);
      await waitForText(page, '#live-message', 'New events of this account appear here as they happen, newest first.');
      assert.equal((await api('PUT', `/api/accounts/${number}/deposit?sum=1`)).status, 200);
      assert.equal((await api('PUT', `/api/accounts/${other}/deposit?sum=2`)).status, 200);
      const two = await page.evaluate(() => formatSignedCents(2));
      await page.waitForFunction((amount) => {
        const top = document.querySelector('#live tbody tr td:nth-child(3)');
        return top !== null && top.textContent === amount;
      }, two, { timeout: WAIT_MS });
      // The other account's deposit came first; had it been shown, it would be under this one.
      assert.equal(await page.$$eval('#live tbody tr', (trs) => trs.length), 1);
      assert.equal(await page.textContent('#live tbody tr td:nth-child(2)'), 'Deposit');
      await waitForText(page, '#balance', await page.evaluate(() => formatCents(127)));
      await closePage(session);
    });

  it('downloads the statement of a chosen month as CSV', TEST_OPTIONS, async () => {
    const number = await createAccountViaApi();
    for (const [operation, body] of [['deposit', { sum: 1234, reference: 'inv,1' }], ['withdraw', { sum: 34 }]]) {
      const answer = await fetch(`${baseUrl}/api/accounts/${number}/${operation}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      assert.equal(answer.status, 200, await answer.text());
    }
    const session = await openPage();
    const { page } = session;
    await page.fill('#account', number);
    await page.getByRole('button', { name: 'Get balance' }).click();
    await waitForText(page, '#balance', '€12.00');
    const month = new Date().toISOString().slice(0, 7);
    assert.equal(await page.inputValue('#statement-month'), month);

    const download = async () => {
      const [file] = await Promise.all([
        page.waitForEvent('download', { timeout: WAIT_MS }),
        page.getByRole('button', { name: 'Download CSV' }).click(),
      ]);
      return { name: file.suggestedFilename(), lines: fs.readFileSync(await file.path(), 'utf8').split('\r\n') };
    };
    const header = 'entry_id,created_at,type,amount_minor,amount,balance_after_minor,balance_after,currency,' +
      'counterparty,transfer_id,hold_id,reference,metadata';
    const csv = await download();
    assert.equal(csv.name, `statement-${number}-${month}.csv`);
    assert.equal(csv.lines.length, 4, csv.lines.join('\n'));
    assert.equal(csv.lines[0], header);
    assert.match(csv.lines[1], /^[0-9]+,[0-9T:.-]+Z,deposit,1234,12\.34,1234,12\.34,EUR,,,,"inv,1",$/);
    assert.match(csv.lines[2], /^[0-9]+,[0-9T:.-]+Z,withdrawal,-34,-0\.34,1200,12\.00,EUR,,,,,$/);
    assert.equal(csv.lines[3], '');
    await waitForText(page, '#statement-message', `Downloaded the statement of ${month} for ${number}.`);

    await page.fill('#statement-month', '2020-01');
    const empty = await download();
    assert.deepEqual(empty.lines, [header, '']);
    await closePage(session);
  });

  it('asks for the API key on 401, keeps it in sessionStorage only, and then works', TEST_OPTIONS, async () => {
    assert.equal(await stopServer(), 0);
    const secret = 'teller-secret-' + crypto.randomBytes(8).toString('hex');
    baseUrl = await startServer({ MX_API_KEYS: 'teller:' + secret });
    const { page, context, requests } = await openPage();
    assert.equal(await page.locator('#key-section').isHidden(), true);

    await page.getByRole('button', { name: 'Create new account' }).click();
    await waitForText(page, '#key-error', 'Enter the API key, then try again.');
    assert.equal(await page.locator('#key-section').isVisible(), true);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');

    await page.getByLabel('This server asks for an API key').fill('wrong-' + secret);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('button', { name: 'Create new account' }).click();
    await waitForText(page, '#key-error', 'That key was refused. Enter another one.');
    await assertInvalid(page, '#api-key', 'That key was refused. Enter another one.');

    await page.getByLabel('This server asks for an API key').fill(secret);
    await page.keyboard.press('Enter');
    await waitForText(page, '#key-message', 'Key kept for this tab. Try again.');
    await assertValid(page, '#api-key');
    const number = await createAccountViaPage(page);
    await waitForText(page, '#balance', '€0.00');
    const last = requests.filter((r) => r.url().endsWith('/api/accounts')).pop();
    assert.equal(last.headers().authorization, 'Bearer ' + secret);
    // The live stream is read with the key too.
    await waitForText(page, '#live-message', 'New events of this account appear here as they happen, newest first.');

    const stored = await page.evaluate(() => ({
      session: window.sessionStorage.getItem('mondux.apiKey'),
      local: JSON.stringify(Object.assign({}, window.localStorage)),
    }));
    assert.equal(stored.session, secret);
    assert.ok(!stored.local.includes(secret), 'the key reached localStorage: ' + stored.local);
    const withKey = await fetch(baseUrl + '/api/accounts/' + number + '/balance',
      { headers: { Authorization: 'Bearer ' + secret } });
    assert.equal(withKey.status, 200);
    await context.close();
  });
});

