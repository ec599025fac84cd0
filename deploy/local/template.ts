/**
 * `${ROOMCAST_*}` substitution for the nginx templates, matching what the
 * official nginx image's envsubst does with them: only ROOMCAST_* names are
 * ours, every other `$name` belongs to nginx and is left alone.
 */

const VARIABLE = /\$\{(ROOMCAST_[A-Z0-9_]+)\}/g;

/** Substitutes every `${ROOMCAST_*}`; throws naming each variable that has no value. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const rendered = template.replace(VARIABLE, (match, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      missing.add(name);
      return match;
    }
    return value;
  });
  if (missing.size > 0) throw new Error(`template variable(s) without a value: ${[...missing].join(', ')}`);
  // envsubst would also replace the brace-less form: refuse it rather than
  // render differently from the Docker image.
  const bare = /\$ROOMCAST_[A-Z0-9_]+/.exec(rendered);
  if (bare) throw new Error(`template uses ${bare[0]} without braces: write \${${bare[0].slice(1)}}`);
  return rendered;
}

/** The names of the `${ROOMCAST_*}` variables a template uses. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(VARIABLE)].map((m) => m[1] ?? ''))];
}
