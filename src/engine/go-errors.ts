// Go's wording of a failed file open ("open /x: no such file or directory"), which docker prints
// where node would say "ENOENT: no such file or directory, open '/x'".
const GO_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};

export function goOpenError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const text = code ? GO_ERRNO[code] : undefined;
  // a directory opens in Go; its read fails ("read /x: is a directory")
  if (code === 'EISDIR') return `read ${path}: ${text}`;
  return text ? `open ${path}: ${text}` : (e as Error).message;
}
