/** Matching actions against role patterns (`flags:enable`, `flags:*`, `*:read`, `*`, `read`, `GET`). */

export interface ActionMatcher {
  matches(action: string): boolean;
}

class PatternMatcher implements ActionMatcher {
  private readonly all: boolean;
  private readonly exact = new Set<string>();
  private readonly areas = new Set<string>();
  private readonly verbs = new Set<string>();

  constructor(patterns: readonly string[]) {
    let all = false;
    for (const pattern of patterns) {
      if (pattern === '*' || pattern === '*:*') {
        all = true;
        continue;
      }
      const colon = pattern.indexOf(':');
      const area = pattern.slice(0, colon);
      const verb = pattern.slice(colon + 1);
      if (verb === '*') this.areas.add(area);
      else if (area === '*') this.verbs.add(verb);
      else this.exact.add(pattern);
    }
    this.all = all;
  }

  matches(action: string): boolean {
    if (this.all || this.exact.has(action)) return true;
    const colon = action.indexOf(':');
    // An action with no area (`read`, `GET`) is reached only by its own name and `*`.
    if (colon < 0) return false;
    return this.areas.has(action.slice(0, colon)) || this.verbs.has(action.slice(colon + 1));
  }
}

export function compileActions(patterns: readonly string[]): ActionMatcher {
  return new PatternMatcher(patterns);
}
