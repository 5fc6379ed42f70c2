/** @module server/pages/upload-page — scan an uploaded docker/OCI archive or SBOM: a form whose small script streams the file as the request body. */
import { html } from '../html.js';
import { page } from './layout.js';

/**
 * The page's only script (served from /assets/upload.js, CSP script-src 'self'): a browser form cannot send an
 * Authorization header, so the file goes out with fetch as the raw body, which the server streams to disk.
 */
export const UPLOAD_SCRIPT = `'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('upload');
  var status = document.getElementById('upload-status');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var file = form.elements.file.files[0];
    if (!file) { status.textContent = 'Choose a file first.'; return; }
    var params = new URLSearchParams({ filename: file.name });
    if (form.elements.image.value) params.set('image', form.elements.image.value);
    status.textContent = 'Uploading and scanning ' + file.name + ' (' + file.size + ' bytes)…';
    fetch('/api/scans?' + params.toString(), {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + form.elements.token.value, 'Content-Type': 'application/octet-stream' },
      body: file
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) { window.location.assign('/scans/' + encodeURIComponent(body.id)); return; }
        status.textContent = 'Refused (' + response.status + ' ' + body.code + '): ' + body.detail + (body.hint ? ' — ' + body.hint : '');
      });
    }).catch(function (error) { status.textContent = 'Upload failed: ' + error.message; });
  });
});
`;

export function uploadPage(maxBytes: number): string {
  const body = html`<h1>Scan an upload</h1>
<p>Upload a docker archive (<code>docker save</code>, <code>podman save</code>), an OCI archive, or a CycloneDX / SPDX JSON SBOM. At most ${Math.floor(maxBytes / 1_048_576)} MiB. Uploads need an API token (<code>distill serve --create-token NAME</code>).</p>
<form id="upload" class="inline" aria-describedby="upload-status">
<label for="u-file">File<input id="u-file" name="file" type="file" required accept=".tar,.json,application/x-tar,application/json"></label>
<label for="u-image">File under image (optional)<input id="u-image" name="image" maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9._:@+\\/\\-]*" placeholder="derived from the file name"></label>
<label for="u-token">API token<input id="u-token" name="token" type="password" required autocomplete="off"></label>
<button type="submit">Upload and scan</button></form>
<p id="upload-status" class="status" role="status" aria-live="polite">Nothing uploaded yet.</p>
<h2>From the command line</h2>
<pre>curl -H "Authorization: Bearer $TOKEN" --data-binary @nginx.tar 'http://127.0.0.1:8080/api/scans?image=nginx'</pre>`;
  return page('Upload', 'upload', body, { scripts: ['/assets/upload.js'] });
}
