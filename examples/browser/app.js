/* global document, fetch, TextDecoder -- browser globals; the repository's ESLint config declares none for .js files */
/**
 * The page of the browser example (README "Browser apps: the pattern"): gets a short-lived session key from its
 * own backend (GET /session), then streams chat completions straight from the gateway with it — an
 * OpenAI-compatible `POST /v1/chat/completions` with `stream: true`, read as server-sent events as they arrive.
 */

// The session key lives in this variable and nowhere else — never localStorage, sessionStorage or a cookie —
// so closing the tab forgets it, and it expires within ten minutes anyway.
let session = null;

/** Renew a little before expiry, so a request never starts with a key about to lapse. */
const RENEW_BEFORE_MS = 30_000;
/** Gateway answers (401) after which a fresh session key helps. */
const SESSION_ERRORS = new Set(['key_expired', 'key_revoked', 'invalid_api_key']);

const form = document.getElementById('ask');
const promptInput = document.getElementById('prompt');
const sendButton = document.getElementById('send');
const statusLine = document.getElementById('status');
const errorLine = document.getElementById('error');
const answer = document.getElementById('answer');

async function newSession() {
  session = null;
  const response = await fetch('/session', { cache: 'no-store' });
  const body = await response.json().catch(() => null);
  if (!response.ok || typeof body?.key !== 'string') {
    throw new Error(body?.error?.message ?? `Could not start a session (HTTP ${response.status}).`);
  }
  session = body;
  statusLine.textContent = sessionSummary();
  return session;
}

async function validSession() {
  if (session !== null && Date.parse(session.expiresAt) - Date.now() > RENEW_BEFORE_MS) return session;
  return newSession();
}

function sessionSummary() {
  if (session === null) return 'No session.';
  return `Session ready: model ${session.model}, key valid until ${new Date(session.expiresAt).toLocaleTimeString()}.`;
}

function startChat(current, prompt) {
  return fetch(`${current.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${current.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: current.model, stream: true, messages: [{ role: 'user', content: prompt }] }),
  });
}

/** Sends the prompt and appends the answer as it streams; a lapsed key gets one new session and one retry. */
async function ask(prompt) {
  let response;
  try {
    response = await startChat(await validSession(), prompt);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // The gateway answers CORS for this origin while a key bound to it is active (or the origin is in its
    // cors.origins): once this page's key lapsed or was revoked, the browser may see only a failed preflight,
    // not the 401. A fresh session key makes the origin answerable again; if that fails too, it is the network.
    statusLine.textContent = 'The gateway did not answer this page; starting a new session…';
    response = await startChat(await newSession(), prompt);
  }
  if (response.status === 401) {
    const problem = await errorOf(response);
    if (!SESSION_ERRORS.has(problem.code)) throw problem;
    statusLine.textContent = `Session key refused (${problem.code}); starting a new session…`;
    response = await startChat(await newSession(), prompt);
  }
  if (!response.ok) throw await errorOf(response);
  await readEvents(response, (chunk) => {
    const delta = chunk.choices?.[0]?.delta ?? {};
    if (typeof delta.reasoning_content === 'string') statusLine.textContent = 'Thinking…';
    if (typeof delta.content === 'string' && delta.content !== '') {
      statusLine.textContent = 'Answering…';
      answer.append(delta.content); // a text node: the model's output is never parsed as HTML
    }
  });
}

/**
 * Reads a `text/event-stream` body incrementally: events end with a blank line, their `data:` lines hold one
 * JSON chunk each, `data: [DONE]` ends the stream. An event carrying `error` (xAI can send one mid-stream) is
 * thrown.
 */
async function readEvents(response, onChunk) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value, { stream: !done });
    const events = buffer.split(/\r\n\r\n|\n\n|\r\r/);
    buffer = done ? '' : events.pop();
    for (const event of events) {
      const data = event
        .split(/\r\n|\n|\r/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data === '') continue;
      if (data === '[DONE]') {
        await reader.cancel();
        return;
      }
      const chunk = JSON.parse(data);
      if (chunk.error !== undefined) throw Object.assign(new Error(describe(chunk, 'The stream broke off.')), { code: chunk.code ?? 'stream_error' });
      onChunk(chunk);
    }
    if (done) return;
  }
}

/** An Error from a refused call: the gateway's `{error: {message, code}}` or xAI's `{code, error}`. */
async function errorOf(response) {
  const body = await response.json().catch(() => null);
  const code = (typeof body?.error === 'object' ? body.error?.code : body?.code) ?? `http_${response.status}`;
  const retryAfter = response.headers.get('retry-after');
  const message = describe(body, `The gateway answered HTTP ${response.status}.`) + (retryAfter ? ` Try again in ${retryAfter} s.` : '');
  return Object.assign(new Error(message), { code });
}

function describe(body, fallback) {
  if (typeof body?.error === 'string') return body.error;
  if (typeof body?.error?.message === 'string') return body.error.message;
  return fallback;
}

function showError(err) {
  // fetch rejects with a TypeError when the network or CORS fails; say so rather than "Failed to fetch".
  const message = err instanceof TypeError ? `Could not reach the gateway or this site (${err.message}).` : err.message;
  errorLine.textContent = err.code ? `${message} [${err.code}]` : message;
  errorLine.hidden = false;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const prompt = promptInput.value.trim();
  if (prompt === '') return;
  sendButton.disabled = true;
  errorLine.hidden = true;
  answer.textContent = '';
  // Screen readers announce the answer once it is complete, not token by token.
  answer.setAttribute('aria-busy', 'true');
  ask(prompt)
    .then(() => {
      statusLine.textContent = sessionSummary();
    })
    .catch((err) => {
      statusLine.textContent = sessionSummary();
      showError(err);
    })
    .finally(() => {
      sendButton.disabled = false;
      answer.setAttribute('aria-busy', 'false');
    });
});

newSession().catch(showError);
