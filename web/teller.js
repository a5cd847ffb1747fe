// The teller page: a small client of the Mondu X API. Plain JavaScript, no framework, no build
// step. Text from the server or the user only ever reaches the page through textContent.
//
// Money is integer minor units (cents), as in the API. Typed amounts are turned into them with
// string operations only (no floating point), and balances are formatted from their digits in the
// shown account's currency.
'use strict';

// ---- money (pure; the browser test calls these directly) ---------------------------------------

// 2^53 - 1: the largest number of minor units the API accepts or answers.
const MAX_CENTS = '9007199254740991';

// The currency the page's amounts are in: the shown account's (EUR until one is shown). Its
// minor-unit exponent and its formatting come from the browser's Intl.NumberFormat, which knows
// ISO 4217 (EUR 2, JPY 0, KWD 3).
let currency = 'EUR';
const formats = new Map();

function formatOf(code) {
  if (!formats.has(code)) {
    let format;
    try {
      format = new Intl.NumberFormat('en', { style: 'currency', currency: code });
    } catch (ignored) {
      format = new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    formats.set(code, format);
  }
  return formats.get(code);
}

// Digits after the decimal mark in the currency: 2 for EUR, 0 for JPY.
function exponentOf(code) {
  return formatOf(code).resolvedOptions().maximumFractionDigits;
}

// "12.34", "12", "0.5" → { cents: "1234" } (a canonical digit string of minor units, the API's
// `sum`); anything else → { error: "<sentence for the user>" }. The decimal mark is the point, the
// one the page shows in every amount (€1,234.56), so a comma is refused rather than guessed:
// "1,234" could be either mark. The digits after it are at most the currency's exponent.
function parseCents(text) {
  const exponent = exponentOf(currency);
  const typed = String(text).trim();
  const example = exponent === 0 ? '1234' : '12.' + '345'.slice(0, exponent);
  if (typed === '') {
    return { error: 'Enter an amount, e.g. ' + example + '.' };
  }
  if (/^[+\-−]/.test(typed)) {
    return { error: 'Enter the amount without a sign.' };
  }
  if (typed.includes(',')) {
    return { error: exponent === 0
      ? 'Use digits only, without thousands separators: e.g. 1234.'
      : 'Use a point before the cents, not a comma, and no thousands separators: e.g. 1234.56.' };
  }
  const parts = /^([0-9]+)(?:\.([0-9]+))?$/.exec(typed);
  if (parts === null) {
    return { error: 'That is not an amount: use digits, and a point before the cents, e.g. ' +
      example + '.' };
  }
  const fraction = parts[2] === undefined ? '' : parts[2];
  if (fraction.length > exponent) {
    return {
      error: exponent === 2
        ? 'At most two digits after the decimal separator: cents are the smallest unit.'
        : exponent === 0 ? 'Whole amounts only: ' + currency + ' has no smaller unit.'
          : 'At most ' + exponent + ' digits after the decimal separator.',
    };
  }
  const cents = (parts[1] + fraction.padEnd(exponent, '0')).replace(/^0+/, '');
  if (cents === '') {
    return { error: 'The amount must be more than zero.' };
  }
  if (cents.length > MAX_CENTS.length || (cents.length === MAX_CENTS.length && cents > MAX_CENTS)) {
    return { error: 'The amount is too large: at most ' + formatDigits(MAX_CENTS) + '.' };
  }
  return { cents };
}

// "123456" → "€1,234.56" in EUR, "¥123,456" in JPY; digits is a string of decimal digits (minor
// units, no sign). Intl.NumberFormat is handed the decimal as a string, which it formats exactly:
// no floating point touches the amount.
function formatDigits(digits) {
  const exponent = exponentOf(currency);
  const padded = digits.replace(/^0+/, '').padStart(exponent + 1, '0');
  const decimal = exponent === 0 ? padded
    : padded.slice(0, -exponent) + '.' + padded.slice(-exponent);
  return formatOf(currency).format(decimal);
}

// "-500" → "-€5.00": an integer's decimal digits with an optional sign.
function formatIntegerText(text) {
  return text.startsWith('-') ? '-' + formatDigits(text.slice(1)) : formatDigits(text);
}

// A number of cents from the API → "€1,234.56", "-€5.00", "€0.00". String() writes every
// safe integer with plain digits, so no arithmetic on euros happens here either.
function formatCents(cents) {
  if (!Number.isSafeInteger(cents)) {
    return '(not a valid amount)';
  }
  return formatIntegerText(String(cents));
}

// What a withdrawal may take: the available balance (the balance less pending holds) plus the
// overdraft limit, both safe integers of cents whose sum may not be one, hence BigInt.
function availableText(balance, available, overdraftLimit) {
  const most = formatIntegerText((BigInt(available) + BigInt(overdraftLimit)).toString());
  if (overdraftLimit === 0) {
    return 'Insufficient funds: the available balance is ' + most + '.';
  }
  const base = available === balance ? 'the balance ' + formatCents(balance)
    : 'the balance less pending holds, ' + formatCents(available) + ',';
  return 'Insufficient funds: the available balance is ' + most + ' (' + base +
    ' plus an overdraft of ' + formatCents(overdraftLimit) + ').';
}

// The same with an explicit sign for amounts that move money: "+€12.34", "-€2.34".
function formatSignedCents(cents) {
  const text = formatCents(cents);
  return cents > 0 ? '+' + text : text;
}

// ---- talking to the API ---------------------------------------------------------------------

// A fresh Idempotency-Key. crypto.randomUUID needs a secure context (https or localhost); the
// page may be opened over plain http on another address, where getRandomValues still works.
function newIdempotencyKey() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const cuts = [[0, 8], [8, 12], [12, 16], [16, 20], [20, 32]];
  return cuts.map(([from, to]) => hex.slice(from, to)).join('-');
}

// The key of every money-moving or creating request that has not had a definite answer yet (the
// network failed, or the server answered 5xx or "still in progress"). Sending the same request
// again reuses its key, so the server carries it out at most once however often it is retried;
// after a definite answer, the same request is a new one with a new key.
const unansweredKeys = new Map();

// What callApi throws when no answer came: the request may or may not have arrived.
class Unreachable extends Error {}

// The API key, when the server asks for one (401): kept in sessionStorage, so it lives as long as
// this tab and is never written to disk with the accounts list.
const API_KEY_STORAGE = 'mondux.apiKey';

function apiKey() {
  try {
    return window.sessionStorage.getItem(API_KEY_STORAGE) || '';
  } catch (ignored) {
    return '';
  }
}

function setApiKey(value) {
  try {
    if (value === '') {
      window.sessionStorage.removeItem(API_KEY_STORAGE);
    } else {
      window.sessionStorage.setItem(API_KEY_STORAGE, value);
    }
  } catch (ignored) {
    // Storage refused (private mode): the key works for nothing then; the page says so on 401.
  }
}

// headers, with the API key when there is one.
function withKey(headers) {
  if (apiKey() !== '') {
    headers.Authorization = 'Bearer ' + apiKey();
  }
  return headers;
}

// { ok, status, data } for any answer; throws Unreachable when none came. `body` (optional) is
// sent as JSON; a retry of the same request with the same body reuses its Idempotency-Key.
async function callApi(method, path, retryable, body) {
  const headers = withKey({ Accept: 'application/json' });
  const text = body === undefined ? undefined : JSON.stringify(body);
  if (text !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const signature = method + ' ' + path + (text === undefined ? '' : ' ' + text);
  if (retryable) {
    if (!unansweredKeys.has(signature)) {
      unansweredKeys.set(signature, newIdempotencyKey());
    }
    headers['Idempotency-Key'] = unansweredKeys.get(signature);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: text, cache: 'no-store' });
  } catch (failure) {
    throw new Unreachable(String(failure));
  }
  let data = null;
  try {
    data = await response.json();
  } catch (ignored) {
    data = null;
  }
  if (retryable) {
    const inProgress = data !== null && data.code === 'idempotency_key_in_use';
    if (response.status < 500 && !inProgress) {
      unansweredKeys.delete(signature);
    }
  }
  if (response.status === 401) {
    askForApiKey();
  }
  return { ok: response.ok, status: response.status, data };
}

// The machine code of a refused request ("" without one). The page decides on this, never on the
// sentence, which is for people and may be reworded.
function errorCode(answer) {
  return answer.data !== null && typeof answer.data.code === 'string' ? answer.data.code : '';
}

// The sentence to show for a refused request: the API's own message when it sent one.
function errorText(answer) {
  if (answer.data !== null && typeof answer.data.error === 'string' && answer.data.error !== '') {
    return answer.data.error;
  }
  return 'the server answered ' + answer.status;
}

function accountPath(number) {
  return '/api/accounts/' + encodeURIComponent(number);
}

// ---- accounts created in this browser (localStorage) ----------------------------------------

const STORAGE_KEY = 'mondux.accounts';

function loadAccounts() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || '[]');
    if (!Array.isArray(stored)) {
      return [];
    }
    return stored.filter((n) => typeof n === 'string' && /^[0-9]{1,64}$/.test(n));
  } catch (ignored) {
    return []; // storage disabled, or not ours: start with an empty list
  }
}

function saveAccounts(numbers) {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(numbers));
  } catch (ignored) {
    // Storage full or disabled: the list lasts until the page is closed.
  }
}

// ---- the page ---------------------------------------------------------------------------------

const byId = (id) => document.getElementById(id);

// Each part of the page has two message lines: role="status" says what happened, role="alert"
// says what went wrong (screen readers announce it at once). At most one of them has text.
function lines(name) {
  return { status: byId(name + '-message'), alert: byId(name + '-error') };
}

const page = {
  keySection: byId('key-section'),
  keyForm: byId('key-form'),
  key: byId('api-key'),
  keyLines: lines('key'),
  accountForm: byId('account-form'),
  account: byId('account'),
  accountLines: lines('account'),
  balance: byId('balance'),
  available: byId('available'),
  status: byId('status'),
  balanceOf: byId('balance-of'),
  moveForm: byId('move-form'),
  amount: byId('amount'),
  moveLines: lines('move'),
  transferForm: byId('transfer-form'),
  transferTo: byId('transfer-to'),
  transferAmount: byId('transfer-amount'),
  transferLines: lines('transfer'),
  createForm: byId('create-form'),
  createLines: lines('create'),
  accounts: byId('accounts'),
  accountsEmpty: byId('accounts-empty'),
  history: byId('history'),
  historyOf: byId('history-of'),
  historyLines: lines('history'),
  live: byId('live'),
  liveOf: byId('live-of'),
  liveLines: lines('live'),
  statementForm: byId('statement-form'),
  statementMonth: byId('statement-month'),
  statementLines: lines('statement'),
};

const accounts = loadAccounts();
let shownAccount = null; // whose balance and history are on the page
let busy = false; // one action (a request and its follow-ups) at a time: a double click acts once

// What each field's aria-describedby names when nothing is wrong with it (its hint, if any).
const hintsOf = new Map([page.key, page.account, page.amount, page.transferTo, page.transferAmount,
  page.statementMonth].map(
  (field) => [field, field.getAttribute('aria-describedby')]));

// `kind` is "ok" (something was done) or "info".
function tell(where, text, kind) {
  where.alert.textContent = '';
  where.status.textContent = text;
  where.status.dataset.kind = kind;
}

// The error goes to the alert line; the field it is about, if any, is marked invalid and
// described by that line, so a screen reader on the field reads why.
function complain(where, text, field) {
  where.status.textContent = '';
  where.alert.textContent = text;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', [where.alert.id, hintsOf.get(field)].filter(Boolean).join(' '));
  }
}

function silence(where) {
  where.status.textContent = '';
  where.alert.textContent = '';
}

function markValid(field) {
  field.removeAttribute('aria-invalid');
  const hint = hintsOf.get(field);
  if (hint) {
    field.setAttribute('aria-describedby', hint);
  } else {
    field.removeAttribute('aria-describedby');
  }
}

// Which field a refused request is about, by its code.
const FIELD_OF_CODE = new Map([
  ['account_not_found', page.account],
  ['account_frozen', page.account],
  ['account_closed', page.account],
  ['invalid_sum', page.amount],
  ['insufficient_funds', page.amount],
  ['balance_limit_exceeded', page.amount],
]);

function fieldOf(answer) {
  return FIELD_OF_CODE.get(errorCode(answer)) || null;
}

// The server refused us for want of a (valid) key: show the key form and put the cursor there.
function askForApiKey() {
  page.keySection.hidden = false;
  complain(page.keyLines,
    apiKey() === '' ? 'Enter the API key, then try again.' : 'That key was refused. Enter another one.',
    page.key);
  page.key.focus();
}

function clearMessages() {
  for (const where of [page.accountLines, page.moveLines, page.transferLines, page.createLines,
    page.statementLines]) {
    silence(where);
  }
  for (const field of [page.account, page.amount, page.transferTo, page.transferAmount,
    page.statementMonth]) {
    markValid(field);
  }
}

function renderAccounts() {
  const items = accounts.map((number) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.textContent = number;
    if (number === shownAccount) {
      button.setAttribute('aria-current', 'true');
    }
    if (busy) {
      button.setAttribute('aria-disabled', 'true');
    }
    button.addEventListener('click', () => run(page.accountLines, () => selectAccount(number)));
    const item = document.createElement('li');
    item.append(button);
    return item;
  });
  page.accounts.replaceChildren(...items);
  page.accountsEmpty.hidden = accounts.length > 0;
}

// The amounts on the page are in code from now on: the labels and the hint say so.
function setCurrency(code) {
  currency = code;
  const exponent = exponentOf(code);
  const euros = code === 'EUR';
  document.querySelector('label[for="amount"]').textContent =
    euros ? 'Amount in euros' : 'Amount in ' + code;
  document.querySelector('label[for="transfer-amount"]').textContent =
    euros ? 'Amount to transfer in euros' : 'Amount to transfer in ' + code;
  const hint = byId('amount-hint');
  const example = document.createElement('span');
  example.id = 'amount-example';
  if (exponent === 0) {
    example.textContent = '1234';
    hint.replaceChildren('Whole ' + code + ', e.g. ', example);
  } else if (exponent === 2) {
    example.textContent = '12.34';
    hint.replaceChildren('With a point before the cents, e.g. ', example);
  } else {
    example.textContent = '12.' + '3456'.slice(0, exponent);
    hint.replaceChildren('With a point before the last ' + exponent + ' digits, e.g. ', example);
  }
}

// An answer that shows an account (or its balance): the balance, what of it is available (the
// balance less its pending holds), and its status when the answer says it.
function showBalance(number, data) {
  if (typeof data.currency === 'string') {
    setCurrency(data.currency);
  }
  shownAccount = number;
  page.balanceOf.textContent = ' of ' + number;
  page.balance.textContent = formatCents(data.balance);
  page.available.textContent = Number.isSafeInteger(data.available_balance)
    ? formatCents(data.available_balance) : '—';
  if (typeof data.status === 'string') {
    page.status.textContent = data.status;
  }
  renderAccounts();
  followLive(number);
}

function forgetShown() {
  shownAccount = null;
  page.balanceOf.textContent = '';
  page.balance.textContent = '—';
  page.available.textContent = '—';
  page.status.textContent = '—';
  page.historyOf.textContent = '';
  page.history.hidden = true;
  silence(page.historyLines);
  renderAccounts();
  followLive(null);
}

const ENTRY_NAMES = {
  deposit: 'Deposit',
  withdrawal: 'Withdrawal',
  transfer_in: 'Transfer from ',
  transfer_out: 'Transfer to ',
  freeze: 'Account frozen',
  unfreeze: 'Account unfrozen',
  close: 'Account closed',
  capture: 'Hold captured',
  open: 'Account opened',
  hold: 'Hold placed',
  void: 'Hold voided',
};

// A history entry or a live event: when, what, amount (a hold's sum for hold and void), balance
// after.
function historyRow(entry) {
  const known = Object.prototype.hasOwnProperty.call(ENTRY_NAMES, entry.type);
  let what = known ? ENTRY_NAMES[entry.type] : String(entry.type);
  if (typeof entry.counterparty === 'string') {
    what += entry.counterparty;
  }
  // "2026-11-25T19:52:10Z" → "2026-11-25 19:52:10" (the column heading says UTC)
  const when = String(entry.created_at).replace('T', ' ').replace('Z', '');
  const amount = (entry.type === 'hold' || entry.type === 'void') && Number.isSafeInteger(entry.hold_amount)
    ? formatCents(entry.hold_amount) : formatSignedCents(entry.amount);
  const cells = [when, what, amount, formatCents(entry.balance_after)];
  const row = document.createElement('tr');
  cells.forEach((text, i) => {
    const cell = document.createElement('td');
    cell.textContent = text;
    if (i >= 2) {
      cell.className = 'money';
    }
    row.append(cell);
  });
  return row;
}

async function loadHistory(number) {
  page.historyOf.textContent = ' of ' + number;
  const answer = await callApi('GET', accountPath(number) + '/transactions?limit=10', false);
  if (number !== shownAccount) {
    return; // another account was selected meanwhile
  }
  if (!answer.ok || answer.data === null || !Array.isArray(answer.data.transactions)) {
    page.history.hidden = true;
    complain(page.historyLines, 'Could not load the history: ' + errorText(answer), null);
    return;
  }
  const entries = answer.data.transactions;
  page.history.tBodies[0].replaceChildren(...entries.map(historyRow));
  page.history.hidden = entries.length === 0;
  const summary =
    entries.length === 0 ? 'No transactions yet.' : `The last ${entries.length}, newest first.`;
  tell(page.historyLines, summary, 'info');
}

// ---- live events of the shown account (GET /api/events/stream) --------------------------------

// Read with fetch, not EventSource, which cannot send the API key. The stream's ids are positions
// in the change feed: after a cut the page reconnects with the last one as Last-Event-ID and so
// misses nothing.
const LIVE_ROWS = 10;
const LIVE_RETRY_MS = 2000;
let live = null; // { number, controller, lastId } of the stream being followed

// Follows number's events (null: none), unless it already does.
function followLive(number) {
  if (live !== null && live.number === number) {
    return;
  }
  if (live !== null) {
    live.controller.abort();
    live = null;
  }
  page.live.tBodies[0].replaceChildren();
  page.live.hidden = true;
  page.liveOf.textContent = number === null ? '' : ' of ' + number;
  silence(page.liveLines);
  if (number !== null) {
    live = { number, controller: new AbortController(), lastId: null };
    readLive(live);
  }
}

// One block of the stream: an event (id and data lines), or only an id (where the stream starts),
// or a comment that keeps the connection open.
function onLiveBlock(state, block) {
  let data = null;
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) {
      state.lastId = line.slice(4);
    } else if (line.startsWith('data: ')) {
      data = line.slice(6);
    }
  }
  if (data === null) {
    return;
  }
  const event = JSON.parse(data);
  const rows = page.live.tBodies[0];
  rows.prepend(historyRow(event));
  while (rows.rows.length > LIVE_ROWS) {
    rows.lastElementChild.remove();
  }
  page.live.hidden = false;
  if (event.account_number === shownAccount && Number.isSafeInteger(event.balance_after)) {
    page.balance.textContent = formatCents(event.balance_after);
  }
}

async function readLive(state) {
  while (live === state) {
    try {
      const headers = withKey({ Accept: 'text/event-stream' });
      if (state.lastId !== null) {
        headers['Last-Event-ID'] = state.lastId;
      }
      const response = await fetch('/api/events/stream?account=' + encodeURIComponent(state.number),
        { headers, signal: state.controller.signal, cache: 'no-store' });
      if (!response.ok) {
        const answer = { status: response.status, data: await response.json().catch(() => null) };
        complain(page.liveLines, 'No live events: ' + errorText(answer), null);
        if (response.status < 500) {
          return; // asking again would be refused again
        }
      } else {
        tell(page.liveLines, 'New events of this account appear here as they happen, newest first.', 'info');
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done || live !== state) {
            break;
          }
          text += decoder.decode(value, { stream: true });
          for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
            onLiveBlock(state, text.slice(0, end));
            text = text.slice(end + 2);
          }
        }
      }
    } catch (failure) {
      if (live !== state) {
        return; // aborted: another account is shown
      }
    }
    if (live === state) {
      tell(page.liveLines, 'Live events were cut off; reconnecting…', 'info');
      await new Promise((resolve) => setTimeout(resolve, LIVE_RETRY_MS));
    }
  }
}

// ---- the monthly statement ---------------------------------------------------------------------

// "2026-11" → the statement of that month (UTC) of the account in the field, as a CSV download.
async function downloadStatement() {
  const number = typedAccount(page.statementLines);
  if (number === null) {
    return;
  }
  const month = page.statementMonth.value;
  if (!/^[0-9]{4}-[0-9]{2}$/.test(month)) {
    complain(page.statementLines, 'Choose a month.', page.statementMonth);
    page.statementMonth.focus();
    return;
  }
  const [year, monthNumber] = month.split('-').map(Number);
  const next = monthNumber === 12 ? `${year + 1}-01` : `${year}-${String(monthNumber + 1).padStart(2, '0')}`;
  const path = accountPath(number) + `/statement?from=${month}-01&to=${next}-01&format=csv`;
  let response;
  try {
    response = await fetch(path, { headers: withKey({ Accept: 'text/csv' }), cache: 'no-store' });
  } catch (failure) {
    throw new Unreachable(String(failure));
  }
  if (!response.ok) {
    const answer = { status: response.status, data: await response.json().catch(() => null) };
    if (response.status === 401) {
      askForApiKey();
    }
    const about = answer.data !== null && ['from', 'to'].includes(answer.data.field) ? page.statementMonth
      : errorCode(answer) === 'account_not_found' ? page.account : null;
    complain(page.statementLines, errorText(answer), about);
    return;
  }
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `statement-${number}-${month}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  tell(page.statementLines, `Downloaded the statement of ${month} for ${number}.`, 'ok');
}

// The account number in the field, or null after telling the user (in `where`) what is wrong.
function typedAccount(where) {
  const number = page.account.value.trim();
  if (number === '') {
    complain(where, 'Enter an account number first.', page.account);
    page.account.focus();
    return null;
  }
  if (!/^[0-9]+$/.test(number)) {
    complain(where, 'An account number has digits only.', page.account);
    page.account.focus();
    return null;
  }
  return number;
}

async function selectAccount(number) {
  page.account.value = number;
  await getBalance();
}

async function getBalance() {
  const number = typedAccount(page.accountLines);
  if (number === null) {
    return;
  }
  const answer = await callApi('GET', accountPath(number), false);
  if (!answer.ok) {
    forgetShown();
    complain(page.accountLines, errorText(answer), fieldOf(answer));
    return;
  }
  showBalance(number, answer.data);
  await loadHistory(number);
}

// A withdrawal was refused for want of funds: say how much may be taken, read afresh (the balance
// on the page may be stale, and an overdraft adds to it).
async function refuseForFunds(number) {
  const answer = await callApi('GET', accountPath(number), false);
  const data = answer.data;
  if (!answer.ok || data === null || !Number.isSafeInteger(data.balance) ||
      !Number.isSafeInteger(data.available_balance) || !Number.isSafeInteger(data.overdraft_limit)) {
    complain(page.moveLines,
      'Insufficient funds (the available balance could not be read: ' + errorText(answer) + ').',
      page.amount);
    return;
  }
  complain(page.moveLines, availableText(data.balance, data.available_balance, data.overdraft_limit),
    page.amount);
  showBalance(number, data);
  await loadHistory(number);
}

async function move(operation) {
  const number = typedAccount(page.moveLines);
  if (number === null) {
    return;
  }
  const amount = parseCents(page.amount.value);
  if (amount.error !== undefined) {
    complain(page.moveLines, amount.error, page.amount);
    page.amount.focus();
    return;
  }
  const path = `${accountPath(number)}/${operation}?sum=${amount.cents}`;
  const answer = await callApi('POST', path, true);
  if (!answer.ok) {
    if (errorCode(answer) === 'insufficient_funds') {
      await refuseForFunds(number);
    } else {
      complain(page.moveLines, errorText(answer), fieldOf(answer));
    }
    return;
  }
  // Done: the next amount is typed afresh, so pressing a button again cannot repeat this one by
  // accident. (Without a definite answer the amount stays, and a retry resends the same request.)
  page.amount.value = '';
  const done = operation === 'deposit' ? 'Deposited ' : 'Withdrew ';
  tell(page.moveLines, done + formatDigits(amount.cents) + '.', 'ok');
  showBalance(number, answer.data);
  await loadHistory(number);
}

// A transfer from the account in the account field to the one typed here; on success the page
// shows the from account afresh (its balance, what is available, its history).
async function transfer() {
  const from = typedAccount(page.transferLines);
  if (from === null) {
    return;
  }
  const to = page.transferTo.value.trim();
  if (!/^[0-9]+$/.test(to)) {
    complain(page.transferLines, 'An account number has digits only.', page.transferTo);
    page.transferTo.focus();
    return;
  }
  const amount = parseCents(page.transferAmount.value);
  if (amount.error !== undefined) {
    complain(page.transferLines, amount.error, page.transferAmount);
    page.transferAmount.focus();
    return;
  }
  // At most 2^53-1 (parseCents), so the number is exact.
  const answer = await callApi('POST', '/api/transfers', true, { from, to, sum: Number(amount.cents) });
  if (!answer.ok) {
    const code = errorCode(answer);
    const field = code === 'invalid_sum' || code === 'insufficient_funds' ? page.transferAmount
      : code === 'invalid_request' ? page.transferTo : null;
    complain(page.transferLines, errorText(answer), field);
    return;
  }
  page.transferAmount.value = '';
  tell(page.transferLines, 'Transferred ' + formatDigits(amount.cents) + ' to ' + to + '.', 'ok');
  const fresh = await callApi('GET', accountPath(from), false);
  if (fresh.ok && fresh.data !== null) {
    showBalance(from, fresh.data);
  }
  await loadHistory(from);
}

async function createAccount() {
  const answer = await callApi('POST', '/api/accounts', true);
  if (!answer.ok || answer.data === null || typeof answer.data.account_number !== 'string') {
    complain(page.createLines, errorText(answer), null);
    return;
  }
  const number = answer.data.account_number;
  if (!accounts.includes(number)) {
    accounts.push(number);
    saveAccounts(accounts);
  }
  page.account.value = number;
  markValid(page.account);
  tell(page.createLines, 'Created account ' + number + '.', 'ok');
  showBalance(number, answer.data);
  await loadHistory(number);
}

// While an action runs, every button says it is disabled (aria-disabled, not the disabled
// property, so a button keeps the keyboard focus it has).
function setBusy(value) {
  busy = value;
  for (const button of document.querySelectorAll('button')) {
    if (value) {
      button.setAttribute('aria-disabled', 'true');
    } else {
      button.removeAttribute('aria-disabled');
    }
  }
}

// Runs one user action at a time; the ones asked for meanwhile (a double click) are dropped.
// `where` is the message lines next to the control that asked for it.
async function run(where, action) {
  if (busy) {
    return;
  }
  setBusy(true);
  clearMessages();
  try {
    await action();
  } catch (failure) {
    if (!(failure instanceof Unreachable)) {
      complain(where, 'Something went wrong on this page: ' + failure.message, null);
      throw failure; // a bug: let the browser report it
    }
    // The request's Idempotency-Key is kept, so trying again cannot do it twice.
    complain(where, 'Could not reach the server. Try again.', null);
  } finally {
    setBusy(false);
  }
}

function onSubmit(form, where, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(where, () => action(event.submitter));
  });
}

onSubmit(page.accountForm, page.accountLines, getBalance);
// Enter in the amount field submits with the first button: a deposit.
onSubmit(page.moveForm, page.moveLines, (submitter) =>
  move(submitter && submitter.value === 'withdraw' ? 'withdraw' : 'deposit'));
onSubmit(page.transferForm, page.transferLines, transfer);
onSubmit(page.createForm, page.createLines, createAccount);
onSubmit(page.statementForm, page.statementLines, downloadStatement);
page.statementMonth.value = new Date().toISOString().slice(0, 7); // this month, in UTC
page.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey(page.key.value.trim());
  page.key.value = '';
  markValid(page.key);
  tell(page.keyLines, apiKey() === '' ? 'Key forgotten.' : 'Key kept for this tab. Try again.', 'ok');
});
renderAccounts();
