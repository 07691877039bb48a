/**
 * Form hints an option schema carries to the renderer through its JSON Schema (zod's `.meta()`
 * writes them beside `description`): `shownWhen` names sibling options and the values under which
 * the option matters, e.g. `{ physics: ['lstm', 'arnet'] }` for a surrogate's settings. The
 * options form shows the option only then, and leaves it out of the options otherwise (main fills
 * its default); on a settings object it holds for each of its keys.
 */
export type ShownWhen = Readonly<Record<string, readonly string[]>>;

/** The JSON Schema keyword of {@link ShownWhen}. */
export const SHOWN_WHEN = 'shownWhen';

/** The `.meta()` of an option that matters only under `when`. */
export const shownWhen = (when: ShownWhen): { [SHOWN_WHEN]: ShownWhen } => ({ [SHOWN_WHEN]: when });
