/** Where things are in the repository, computed from this file's location. */
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (no trailing slash). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** deploy/nginx: the nginx templates shared with the Docker setup. */
export const nginxTemplateDir = `${repoRoot}/deploy/nginx`;

/** What one replica runs by default (built by `npm run build -w server`). */
export const defaultServerEntry = `${repoRoot}/server/dist/main.js`;

/** The built web client, served by nginx when it exists. */
export const defaultWebRoot = `${repoRoot}/web/dist`;
