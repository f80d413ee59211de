// The files `tsbuild build` writes after a build when asked, as docker buildx does: --iidfile (the
// image id, no newline) and --metadata-file (buildx's JSON keys, control/build-metadata.ts).
import { writeFileSync } from 'node:fs';
import { buildMetadata, type BuildResult } from '../control/index.ts';
import { ErrorCodes, invalid } from '../src/errors/index.ts';

export function writeBuildFiles(result: BuildResult, files: { iidfile?: string; metadataFile?: string }): void {
  if (files.iidfile !== undefined) write('--iidfile', files.iidfile, result.imageId);
  if (files.metadataFile !== undefined) write('--metadata-file', files.metadataFile, `${JSON.stringify(buildMetadata(result), null, 2)}\n`);
}

function write(flag: string, path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o644 });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw invalid(ErrorCodes.OUTPUT_FAILED, `${flag} ${path}: cannot write it (${why}); the image was built`, { hint: 'name a file in a directory that exists and is writable', cause: e });
  }
}
