// Errors of the image side. Each message names what is wrong and, where it can, the fix.

/** Base class: every image-side error is an ImageError (so callers can print `message` alone). */
export class ImageError extends Error {
  override name = 'ImageError';
  /** Stable code for API layers (docker-ish: "invalid_reference", "not_found", "conflict", ...). */
  readonly code: string;
  constructor(message: string, code = 'image_error') {
    super(message);
    this.code = code;
  }
}

/** A reference string (`name:tag@digest`) that does not parse or validate. */
export class InvalidReferenceError extends ImageError {
  override name = 'InvalidReferenceError';
  constructor(message: string) {
    super(message, 'invalid_reference');
  }
}

/** A digest string that is malformed or uses an unsupported algorithm. */
export class InvalidDigestError extends ImageError {
  override name = 'InvalidDigestError';
  constructor(message: string) {
    super(message, 'invalid_digest');
  }
}

/** Content whose digest or size differs from what was expected. Nothing is kept. */
export class DigestMismatchError extends ImageError {
  override name = 'DigestMismatchError';
  constructor(readonly expected: string, readonly actual: string, what = 'content') {
    super(`${what} failed verification: expected ${expected}, got ${actual}`, 'digest_mismatch');
  }
}

/** A blob stream that ended before the expected size: the partial data is kept for a resume. */
export class IncompleteContentError extends ImageError {
  override name = 'IncompleteContentError';
  constructor(readonly digest: string, readonly received: number, readonly expected: number) {
    super(`download of ${digest} ended early (${received} of ${expected} bytes)`, 'incomplete');
  }
}

/** A manifest, index or config that is malformed, too large or unsupported. */
export class ManifestError extends ImageError {
  override name = 'ManifestError';
  constructor(message: string) {
    super(message, 'invalid_manifest');
  }
}

export class ImageNotFoundError extends ImageError {
  override name = 'ImageNotFoundError';
  constructor(what: string) {
    super(`No such image: ${what}`, 'not_found');
  }
}

/** An operation refused because of the store's state (image in use, several tags, ...). */
export class ImageConflictError extends ImageError {
  override name = 'ImageConflictError';
  constructor(message: string) {
    super(message, 'conflict');
  }
}

/** A blob that is not in the content store. */
export class BlobNotFoundError extends ImageError {
  override name = 'BlobNotFoundError';
  constructor(readonly digest: string) {
    super(`content ${digest} is not in the content store`, 'blob_not_found');
  }
}
