// The registry side of images: pull, push, login/logout and the client underneath.
export { RegistryClient, type RegistryClientOptions, type FetchedManifest, type UploadOptions, type UploadOutcome } from './client.js';
export { pull, type PullOptions, type PullResult, type Stores } from './pull.js';
export { push, type PushOptions, type PushResult } from './push.js';
export { login, logout, loginHost, verifyCredentials, type LoginOptions } from './login.js';
export { readCredentials, storeCredentials, removeCredentials, dockerConfigPath, credentialKey, type Credentials } from './credentials.js';
export { ProgressRenderer, progressBar, statusText, type ProgressEvent, type ProgressCallback, type BlobProgress, type BlobStatus } from './progress.js';
export { parseChallenges, pickChallenge, type Challenge } from './challenge.js';
export { AuthError } from './auth.js';
export { RegistryHttpError, isRetryable } from './http.js';
export { registryEndpoint, isLoopbackHost, DEFAULT_CERTS_DIRS, type HostOptions, type RegistryEndpoint } from './hosts.js';
