/**
 * Builds, without Docker, the file system a Dockerfile stage would produce:
 * its COPY and RUN lines are executed in order against a temp dir standing in
 * for the image's root. Sources from the build context come from the
 * repository (refusing any the .dockerignore leaves out); `--from=<stage>`
 * sources come from that stage assembled the same way (or, when it was not,
 * from the repository's own build output: the build stage is the repository
 * built in its WORKDIR). Nothing is listed twice: change the Dockerfile and
 * this follows.
 *
 * RUN lines run on this machine with the stage's WORKDIR mapped into the temp
 * dir: a RUN line that names an absolute path would touch this machine's own
 * files, so it is refused.
 */
import { cpSync, existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '@roomcast/deploy/local';
import { run } from './child.js';
import { copyPaths, execForm, last, type Dockerfile, type Stage } from './dockerfile.js';
import { isIgnored, readDockerignore } from './dockerignore.js';

export interface AssembledStage {
  /** The temp dir standing in for the image's `/`. */
  root: string;
  /** WORKDIR at the end of the stage, inside `root`. */
  workdir: string;
  /** The same WORKDIR as the image sees it (e.g. /app). */
  imageWorkdir: string;
  env: Record<string, string>;
  user: string | undefined;
  /** CMD in exec form, if the stage has one. */
  cmd: string[] | undefined;
  /** What was copied: [source on this machine, destination in the image]. */
  copied: Array<[string, string]>;
}

function inRoot(root: string, imagePath: string): string {
  if (!path.posix.isAbsolute(imagePath)) throw new Error(`expected an absolute image path: ${imagePath}`);
  return path.join(root, imagePath);
}

/** Where a `COPY --from=<stage>` source lives on this machine. */
function builtSource(dockerfile: Dockerfile, stageName: string, source: string, built: AssembledStage | undefined): string {
  if (built) return inRoot(built.root, path.posix.resolve(built.imageWorkdir, source));
  const stage = dockerfile.stage(stageName);
  const workdir = last(stage, 'WORKDIR')?.rest;
  if (!workdir) throw new Error(`stage ${stageName} has no WORKDIR`);
  const relative = path.posix.relative(workdir, path.posix.resolve(workdir, source));
  if (relative.startsWith('..')) throw new Error(`COPY --from=${stageName} ${source}: only files under its WORKDIR ${workdir} are known here`);
  // The stage copies the repository into WORKDIR and builds it there.
  return path.join(repoRoot, relative);
}

export interface AssembleOptions {
  /** Added to the environment of RUN lines (e.g. npm's cache settings). */
  runEnv?: Record<string, string>;
  /** Stages assembled before, by name, for `COPY --from`. */
  built?: Record<string, AssembledStage>;
}

/**
 * Assembles `stage` into `root`. `--mount` flags of RUN are ignored (BuildKit
 * cache mounts only speed builds up).
 */
export async function assembleStage(
  dockerfile: Dockerfile,
  stage: Stage,
  root: string,
  opts: AssembleOptions = {},
): Promise<AssembledStage> {
  const ignore = readDockerignore(path.join(repoRoot, '.dockerignore'));
  let workdir = '/';
  const env: Record<string, string> = {};
  let user: string | undefined;
  let cmd: string[] | undefined;
  const copied: Array<[string, string]> = [];

  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, instruction.rest);
        await mkdir(inRoot(root, workdir), { recursive: true });
        break;
      case 'ENV':
        for (const pair of instruction.rest.split(/\s+/)) {
          const eq = pair.indexOf('=');
          env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      case 'COPY': {
        const { sources, dest } = copyPaths(instruction);
        const from = instruction.flags.get('from');
        const destPath = path.posix.resolve(workdir, dest);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          let local: string;
          if (from) {
            local = builtSource(dockerfile, from, source, opts.built?.[from]);
          } else {
            if (isIgnored(ignore, source)) throw new Error(`COPY ${source}: excluded from the build context by .dockerignore`);
            local = path.join(repoRoot, source);
          }
          if (!existsSync(local)) {
            throw new Error(`COPY ${source}: ${local} does not exist (run \`npm run build\` at the repository root)`);
          }
          const isDir = statSync(local).isDirectory();
          // Docker copies a directory's contents, and a file into a directory when dest ends with /.
          const target = isDir || !intoDir ? inRoot(root, destPath) : path.join(inRoot(root, destPath), path.basename(source));
          await mkdir(isDir ? target : path.dirname(target), { recursive: true });
          cpSync(local, target, {
            recursive: true,
            // What .dockerignore leaves out of the context never reaches the image.
            filter: (file) => from !== undefined || !isIgnored(ignore, path.relative(repoRoot, file)),
          });
          copied.push([local, destPath]);
        }
        break;
      }
      case 'RUN': {
        if (/(^|[\s'"=])\//.test(instruction.rest)) {
          throw new Error(`RUN ${instruction.rest}: names an absolute path; assembleStage runs RUN lines on this machine`);
        }
        const argv = execForm(instruction.rest);
        const result = await run(argv?.[0] ?? 'sh', argv ? argv.slice(1) : ['-c', instruction.rest], {
          cwd: inRoot(root, workdir),
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env, ...opts.runEnv },
        });
        if (result.code !== 0) throw new Error(`RUN ${instruction.rest} failed (exit ${result.code}):\n${result.output}`);
        break;
      }
      case 'USER':
        user = instruction.rest;
        break;
      case 'CMD':
        cmd = execForm(instruction.rest);
        if (!cmd) throw new Error('CMD must be in exec form (no shell between Docker and node)');
        break;
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'LABEL':
      case 'ARG':
        break;
      default:
        throw new Error(`assembleStage does not know ${instruction.keyword}: teach it before using it in the Dockerfile`);
    }
  }
  return { root, workdir: inRoot(root, workdir), imageWorkdir: workdir, env, user, cmd, copied };
}
