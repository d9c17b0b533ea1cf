// Image archives: load/save (docker-archive, oci-archive, OCI layout directories), import of a
// rootfs tarball, export of a container's file system. Everything goes through the ContentStore
// interface and an image-store callback, so it plugs into any store.
export { loadArchive, layerMediaType, type ImageCallback, type LoadOptions, type LoadedImage } from './load.js';
export { saveArchive, saveOciLayout, type SaveFormat, type SaveImage } from './save.js';
export { importRootfs, exportFilesystem, exportContainer, type ImportOptions, type ImportResult } from './rootfs.js';
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './files.js';
