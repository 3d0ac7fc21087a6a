import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { connect } from '../api.js';

/** Asks for a token when the API wants one; it is kept for this tab only. */
export function Login({ refused }: { refused: boolean }) {
  const [token, setToken] = useState('');
  return html`<main class="login">
    <form data-testid="login" onSubmit=${(e: Event) => {
      e.preventDefault();
      if (token.trim() !== '') void connect(token.trim());
    }}>
      <h1><span class="logo">◆</span> Switchboard</h1>
      <p>This server has auth on. Paste a token: an admin token sees everything; a client token sees
        agents' events, queues and tasks, but no dead letters and no admin action.</p>
      ${refused && html`<p class="notice">That token was refused (HTTP 401).</p>`}
      <input type="password" name="token" autocomplete="off" placeholder="Bearer token" value=${token}
        onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)} autofocus />
      <button type="submit">Sign in</button>
      <p class="hint">The token stays in this tab (session storage) and is sent only to this server.</p>
    </form>
  </main>`;
}
