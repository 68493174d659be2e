import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactDocument } from './redact.js';

test('redacts private keys at any depth and password/secret/token keys, on a copy', () => {
  const doc = {
    servers: [{ listeners: [{ filter_chains: [{ tls_context: { status: true, cert_chain: 'CERT', private_key: '-----BEGIN PRIVATE KEY-----' } }] }] }],
    cluster_manager: { clusters: [{ tls_context: { Private_Key: '/k.pem' } }] },
    extends: [{ config: { db_password: 'p', clientSecret: 's', AUTH_TOKEN: 't', tokens_issued: 3, empty_token: '' } }],
    name: 'keep',
  };
  const out = redactDocument(doc);
  assert.equal(out.servers[0]?.listeners[0]?.filter_chains[0]?.tls_context.private_key, '[redacted]');
  assert.equal(out.servers[0]?.listeners[0]?.filter_chains[0]?.tls_context.cert_chain, 'CERT');
  assert.equal(out.cluster_manager.clusters[0]?.tls_context.Private_Key, '[redacted]');
  assert.deepEqual(out.extends[0]?.config, { db_password: '[redacted]', clientSecret: '[redacted]', AUTH_TOKEN: '[redacted]', tokens_issued: '[redacted]', empty_token: '' });
  assert.equal(out.name, 'keep');
  assert.equal(doc.servers[0]?.listeners[0]?.filter_chains[0]?.tls_context.private_key, '-----BEGIN PRIVATE KEY-----', 'input untouched');
});
