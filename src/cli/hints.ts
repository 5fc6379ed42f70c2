/** @module cli/hints — a next step for every error code, used when the library did not give a more specific hint. */
import type { ErrorCode } from '../errors.js';

const HINTS: Record<ErrorCode, string> = {
  BAD_REFERENCE: 'write the source as oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG] or dir:PATH',
  SOURCE_NOT_FOUND: 'check the path; relative paths are taken from the current directory',
  SOURCE_UNRECOGNIZED: 'name the transport explicitly (oci:, oci-archive:, docker-archive:, dir:)',
  PLATFORM_NOT_FOUND: 'pick one of the listed platforms with --platform os/arch[/variant]',
  TAG_NOT_FOUND: 'pick one of the listed tags, e.g. oci:DIR:TAG',
  AMBIGUOUS_IMAGE: 'name the image with a tag (oci:DIR:TAG) or a position (docker-archive:FILE@N)',
  MANIFEST_INVALID: 'the image metadata is malformed; export the image again (skopeo copy, podman save)',
  BLOB_NOT_FOUND: 'the image is incomplete; export or copy it again',
  DIGEST_MISMATCH: 'the image is corrupt or was modified after it was written; export or copy it again',
  SIZE_MISMATCH: 'the image is corrupt or was modified after it was written; export or copy it again',
  UNSUPPORTED_MEDIA_TYPE: 'convert the image with skopeo copy to a standard OCI or Docker layout',
  ARCHIVE_TRUNCATED: 'the archive was not written completely; export the image again',
  ARCHIVE_CORRUPT: 'the file is not a valid image archive, or it is damaged; export the image again',
  TAR_CORRUPT: 'a layer is damaged; export the image again',
  TAR_TRUNCATED: 'a layer ends early; export the image again',
  TAR_ENTRY_TOO_LARGE: 'a layer declares an implausibly large file; the image is damaged or hostile',
  PATH_ESCAPE: 'the input tries to reach outside its root; it was not used',
  DECOMPRESS_FAILED: 'a compressed layer is damaged; export the image again',
  SYMLINK_LOOP: 'the filesystem has a symlink cycle; it was not followed',
  FILE_NOT_FOUND: 'check the path inside the image',
  FILE_TOO_LARGE: 'the file exceeds distill\'s safety limit and was not read',
  SBOM_INVALID: 'give a CycloneDX (1.4–1.6) or SPDX (2.2/2.3) JSON document',
  FORMAT_UNKNOWN: 'run with --help to see the supported formats',
  VERSION_INVALID: 'a version string is not valid in its scheme; the record or package that carries it was not matched',
  VEX_INVALID: 'the VEX file is not a valid OpenVEX 0.2.0 or CycloneDX VEX document; check the field named in the message',
  FEED_INVALID: 'the feed file is malformed, truncated or not in the expected format; download it again (distill db update) or check the file given to db import',
  FEED_TOO_LARGE: 'the feed exceeds distill\'s safety limit and was not imported; check that it is the right file',
  USAGE: 'run with --help for usage',
  IO: 'check permissions and free disk space',
  NETWORK_UNREACHABLE: 'no network? bring the feed files in by hand and run `distill db import DIR` (see docs/db.md)',
  DOWNLOAD_FAILED: 'the server answered with an error or cut the download short; try again later, or import the files by hand with `distill db import DIR`',
  DB_NOT_FOUND: 'run `distill db update`, or `distill db import DIR` with feed files brought in by hand',
  DB_CORRUPT: 'the vulnerability database is damaged; run `distill db update` (or `distill db import DIR`) to rebuild it',
  DB_SCHEMA_NEWER: 'the database was written by a newer distill; upgrade distill, or point DISTILL_DB at another database',
  DB_SCHEMA_OLD: 'the database was written by an older distill; run `distill db update` to migrate it',
  DB_LOCKED: 'another `distill db update` or `db import` is running; wait for it (a lock left by a killed process is taken over after it dies)',
  DB_VERIFY_FAILED: 'the new database failed its checks and was not installed; the previous one is unchanged. Check the feed files and run the update again',
};

export function hintFor(code: ErrorCode): string {
  return HINTS[code];
}
