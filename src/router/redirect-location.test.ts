import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redirectLocation, type RedirectRule } from './redirect-location.js';

const rule = (r: Partial<RedirectRule>): RedirectRule => ({ responseCode: 301, pathRedirect: '', hostRedirect: '', schemeRedirect: '', ...r });
const cases: [string, Partial<RedirectRule>, { host: string; path: string; scheme: string; query: string }, string][] = [
  ['path only, query kept', { pathRedirect: '/new' }, { host: 'a.com', path: '/old', scheme: 'http', query: 'x=1&y=2' }, 'http://a.com/new?x=1&y=2'],
  ['host only', { hostRedirect: 'b.com' }, { host: 'a.com:8080', path: '/p', scheme: 'http', query: '' }, 'http://b.com/p'],
  ['https upgrade drops :80', { schemeRedirect: 'https' }, { host: 'a.com:80', path: '/p', scheme: 'http', query: 'q' }, 'https://a.com/p?q'],
  ['http downgrade drops :443', { schemeRedirect: 'http' }, { host: 'a.com:443', path: '/', scheme: 'https', query: '' }, 'http://a.com/'],
  ['https keeps other ports', { schemeRedirect: 'https' }, { host: 'a.com:8080', path: '/', scheme: 'http', query: '' }, 'https://a.com:8080/'],
  ['https keeps :443', { schemeRedirect: 'https' }, { host: 'a.com:443', path: '/', scheme: 'http', query: '' }, 'https://a.com:443/'],
  ['everything replaced', { schemeRedirect: 'https', hostRedirect: 'c.com', pathRedirect: '/z' }, { host: 'a.com', path: '/p', scheme: 'http', query: 'k=v' }, 'https://c.com/z?k=v'],
  ['request scheme kept', {}, { host: 'a.com', path: '/p', scheme: 'https', query: '' }, 'https://a.com/p'],
  ['path without slash gets one', { pathRedirect: 'rel' }, { host: 'a.com', path: '/p', scheme: 'http', query: '' }, 'http://a.com/rel'],
];
for (const [name, r, req, expected] of cases) {
  test(`redirect Location: ${name}`, () => assert.equal(redirectLocation(rule(r), req), expected));
}
