/** @module server/openapi — the OpenAPI 3.1 document served at /api/openapi.json (kept next to the routes it describes). */
import { SEVERITIES } from '../vuln/severity.js';
import { EVENT_KINDS, ROLES } from './params.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const ok = (schema: object, description = 'OK') => ({ description, content: json(schema) });
const arrayOf = (name: string) => ({ type: 'array', items: ref(name) });
const param = (name: string, where: 'query' | 'path', schema: object, description: string, required = where === 'path') => ({ name, in: where, required, description, schema });

const limit = param('limit', 'query', { type: 'integer', minimum: 1, maximum: 1000 }, 'rows at most');
const before = param('before', 'query', { type: 'string', format: 'date-time' }, 'only rows created before this time (page from the newest)');
const imageQ = param('image', 'query', { type: 'string', maxLength: 128 }, 'image name');
const imagePath = param('name', 'path', { type: 'string', maxLength: 128 }, 'image name (URL-encoded)');
const scanPath = param('id', 'path', { type: 'string', maxLength: 100 }, 'scan id');
const common = { '400': problem('a query parameter is malformed (USAGE)'), '429': problem('rate limit (RATE_LIMITED); see Retry-After') };
const notFound = { '404': problem('no such resource (NOT_FOUND)') };

const severityCounts = { type: 'object', properties: Object.fromEntries(SEVERITIES.map((s) => [s, { type: 'integer' }])), required: [...SEVERITIES] };

export function openApiDocument(version: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'distill API',
      version,
      description: 'Images, builds, scans, findings, compliance and trends of a distill fleet. Reads are open; writes need `Authorization: Bearer TOKEN` (create one with `distill serve --create-token NAME`). Errors are application/problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token from `distill serve --create-token NAME`' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string', description: 'DistillError code (docs/errors.md)' }, hint: { type: 'string' }, instance: { type: 'string' } },
        },
        SeverityCounts: severityCounts,
        Image: { type: 'object', required: ['name', 'createdAt', 'updatedAt'], properties: { name: { type: 'string' }, recipe: { type: 'string' }, replaces: { type: 'string' }, description: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' } } },
        Build: {
          type: 'object',
          required: ['id', 'image', 'createdAt', 'digest', 'arch', 'packages', 'reason'],
          properties: { id: { type: 'string' }, image: { type: 'string' }, createdAt: { type: 'string' }, digest: { type: 'string' }, arch: { type: 'string' }, packages: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, arch: { type: 'string' } } } }, compressedBytes: { type: 'integer' }, uncompressedBytes: { type: 'integer' }, reason: { type: 'string' } },
        },
        Summary: { type: 'object', properties: { bySeverity: ref('SeverityCounts'), total: { type: 'integer' }, fixable: { type: 'integer' }, kev: { type: 'integer' }, epssAbove0_1: { type: 'integer' }, suppressed: { type: 'integer' }, negligibleHidden: { type: 'integer' }, filtered: { type: 'integer' } } },
        Scan: {
          type: 'object',
          required: ['id', 'role', 'subject', 'createdAt', 'packages', 'summary', 'dbDigest', 'reason'],
          properties: { id: { type: 'string' }, image: { type: 'string' }, role: { enum: [...ROLES] }, subject: { type: 'string' }, digest: { type: 'string' }, createdAt: { type: 'string' }, packages: { type: 'integer' }, summary: ref('Summary'), dbDigest: { type: 'string' }, reason: { type: 'string' }, rescanOf: { type: 'string' } },
        },
        Finding: {
          type: 'object',
          required: ['scanId', 'vulnId', 'packageName', 'installedVersion', 'severity', 'fixState', 'kev'],
          properties: { scanId: { type: 'string' }, vulnId: { type: 'string' }, packageName: { type: 'string' }, installedVersion: { type: 'string' }, severity: { enum: [...SEVERITIES] }, fixState: { type: 'string' }, fixedVersion: { type: 'string' }, kev: { type: 'boolean' }, epss: { type: 'number' } },
        },
        ScanFigures: { type: 'object', properties: { scanId: { type: 'string' }, at: { type: 'string' }, total: { type: 'integer' }, bySeverity: ref('SeverityCounts'), kev: { type: 'integer' }, fixable: { type: 'integer' }, packages: { type: 'integer' } } },
        CatalogRow: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' }, replaces: { type: 'string' }, description: { type: 'string' }, minimal: ref('ScanFigures'), stock: ref('ScanFigures'),
            lastBuild: { type: 'object', properties: { id: { type: 'string' }, at: { type: 'string' }, digest: { type: 'string' }, compressedBytes: { type: 'integer' }, uncompressedBytes: { type: 'integer' }, packages: { type: 'integer' } } },
            compliance: { type: 'object', properties: { framework: { type: 'string' }, at: { type: 'string' }, passed: { type: 'integer' }, failed: { type: 'integer' }, manual: { type: 'integer' } } },
          },
        },
        Compliance: { type: 'object', properties: { id: { type: 'string' }, image: { type: 'string' }, scanId: { type: 'string' }, framework: { type: 'string' }, createdAt: { type: 'string' }, passed: { type: 'integer' }, failed: { type: 'integer' }, manual: { type: 'integer' }, results: {} } },
        TrendPoint: { type: 'object', properties: { at: { type: 'string' }, image: { type: 'string' }, scanId: { type: 'string' }, role: { enum: [...ROLES] }, total: { type: 'integer' }, bySeverity: ref('SeverityCounts'), kev: { type: 'integer' } } },
        Event: { type: 'object', properties: { id: { type: 'string' }, at: { type: 'string' }, kind: { enum: [...EVENT_KINDS] }, image: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } },
      },
    },
    paths: {
      '/api/catalog': { get: { summary: 'every image with its newest minimal and stock scan figures, last build and compliance status', operationId: 'catalog', responses: { '200': ok(arrayOf('CatalogRow')), ...common } } },
      '/api/images': { get: { summary: 'images in name order', operationId: 'listImages', responses: { '200': ok(arrayOf('Image')), ...common } } },
      '/api/images/{name}': { get: { summary: 'one image', operationId: 'getImage', parameters: [imagePath], responses: { '200': ok(ref('Image')), ...common, ...notFound } } },
      '/api/images/{name}/builds': { get: { summary: 'builds of an image, newest first', operationId: 'listBuilds', parameters: [imagePath, limit, before], responses: { '200': ok(arrayOf('Build')), ...common, ...notFound } } },
      '/api/images/{name}/compliance': { get: { summary: 'the newest compliance run of an image', operationId: 'getCompliance', parameters: [imagePath, param('framework', 'query', { type: 'string', maxLength: 100 }, 'framework id')], responses: { '200': ok(ref('Compliance')), ...common, ...notFound } } },
      '/api/builds/{id}': { get: { summary: 'one build', operationId: 'getBuild', parameters: [param('id', 'path', { type: 'string' }, 'build id')], responses: { '200': ok(ref('Build')), ...common, ...notFound } } },
      '/api/scans': {
        get: { summary: 'scans, newest first', operationId: 'listScans', parameters: [imageQ, param('role', 'query', { enum: [...ROLES] }, 'scan role'), limit, before], responses: { '200': ok(arrayOf('Scan')), ...common } },
        post: {
          summary: 'scan an uploaded docker archive, OCI archive or CycloneDX/SPDX JSON SBOM (the raw request body, streamed to disk)',
          operationId: 'createScan',
          security: [{ bearer: [] }],
          parameters: [
            param('image', 'query', { type: 'string', maxLength: 128 }, 'image to file the scan under (default: derived from filename)'),
            param('role', 'query', { enum: [...ROLES] }, 'default upload'),
            param('filename', 'query', { type: 'string', maxLength: 200 }, 'the client file name (recorded as the subject; never used as a path)'),
          ],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } }, 'application/x-tar': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object', description: 'CycloneDX or SPDX JSON SBOM' } } } },
          responses: {
            '201': { description: 'the stored scan', headers: { Location: { schema: { type: 'string' } } }, content: json(ref('Scan')) },
            '401': problem('no or unknown token (UNAUTHORIZED)'),
            '413': problem('over the upload limit (PAYLOAD_TOO_LARGE)'),
            '422': problem('not a readable archive or SBOM (SOURCE_UNRECOGNIZED, ARCHIVE_CORRUPT, SBOM_INVALID, …); nothing is stored'),
            ...common,
          },
        },
      },
      '/api/scans/{id}': { get: { summary: 'one scan (header and summary)', operationId: 'getScan', parameters: [scanPath], responses: { '200': ok(ref('Scan')), ...common, ...notFound } } },
      '/api/scans/{id}/findings': {
        get: {
          summary: 'shown findings of a scan, most urgent first (KEV, severity, EPSS)',
          operationId: 'listFindings',
          parameters: [scanPath, param('severity', 'query', { enum: [...SEVERITIES] }, 'exact severity'), param('kev', 'query', { type: 'boolean' }, 'in CISA KEV'), param('fixable', 'query', { type: 'boolean' }, 'a fix exists'), param('search', 'query', { type: 'string', maxLength: 200 }, 'substring of the id or package name'), param('limit', 'query', { type: 'integer', minimum: 1, maximum: 5000 }, 'rows at most'), param('offset', 'query', { type: 'integer', minimum: 0 }, 'rows to skip')],
          responses: { '200': ok(arrayOf('Finding')), ...common, ...notFound },
        },
      },
      '/api/scans/{id}/report': { get: { summary: 'the full scan report', operationId: 'getReport', parameters: [scanPath, param('format', 'query', { enum: ['json', 'sarif', 'cyclonedx-json'] }, 'default json')], responses: { '200': ok({ type: 'object' }), ...common, ...notFound } } },
      '/api/scans/{id}/sbom': { get: { summary: 'the SBOM the scan matched', operationId: 'getSbom', parameters: [scanPath, param('format', 'query', { enum: ['cyclonedx-json', 'spdx-json', 'json'] }, 'default cyclonedx-json')], responses: { '200': ok({ type: 'object' }), ...common, ...notFound } } },
      '/api/scans/{id}/vex': { get: { summary: 'OpenVEX statements for the scan (what is not exploitable and why); minimal scans are stated against the image\'s newest stock scan', operationId: 'getVex', parameters: [scanPath, param('against', 'query', { type: 'string' }, 'scan id of the image this one replaces')], responses: { '200': ok({ type: 'object' }), ...common, ...notFound } } },
      '/api/scans/{id}/triage': { get: { summary: 'the remediation plan for a scan (src/triage): upgrades, base swap, no-fix advice, by risk and SSVC', operationId: 'getTriage', parameters: [scanPath, param('replacement', 'query', { type: 'string' }, 'scan id of the replacement image (default for stock scans: the image\'s newest minimal scan)')], responses: { '200': ok({ type: 'object' }), ...common, ...notFound } } },
      '/api/compare': { get: { summary: 'src/compare on two stored scans', operationId: 'compare', parameters: [param('a', 'query', { type: 'string' }, 'scan id A', true), param('b', 'query', { type: 'string' }, 'scan id B', true)], responses: { '200': ok({ type: 'object' }), ...common, ...notFound } } },
      '/api/trend': { get: { summary: 'scan counts over time, oldest first', operationId: 'trend', parameters: [imageQ, param('role', 'query', { enum: [...ROLES] }, 'scan role'), param('since', 'query', { type: 'string', format: 'date-time' }, 'from this time')], responses: { '200': ok(arrayOf('TrendPoint')), ...common } } },
      '/api/events': { get: { summary: 'recorded events (builds, scans, rescans, DB updates), newest first', operationId: 'listEvents', parameters: [imageQ, param('kind', 'query', { enum: [...EVENT_KINDS] }, 'event kind'), limit, before], responses: { '200': ok(arrayOf('Event')), ...common } } },
      '/api/openapi.json': { get: { summary: 'this document', operationId: 'openapi', responses: { '200': ok({ type: 'object' }) } } },
    },
  };
}
