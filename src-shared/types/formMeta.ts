/**
 * Form hints an option schema carries to the renderer through its JSON Schema (zod's `.meta()`
 * writes them beside `description`): `shownWhen` names other options of the form (top-level
 * names, or `group.key` for a settings object's key) and the values under which the option
 * matters, e.g. `{ physics: ['lstm', 'arnet'] }` for a surrogate's settings. The options form
 * shows the option only then, and leaves it out of the options otherwise (main fills its default);
 * on a settings object it holds for each of its keys, with a key's own rule on top. Values are
 * compared as the inputs hold them: an enum's choice, 'true' / 'false' for a checkbox.
 * methodForms.test.ts checks that every rule names an option and values it can take.
 */
export type ShownWhen = Readonly<Record<string, readonly string[]>>;

/** The JSON Schema keyword of {@link ShownWhen}. */
export const SHOWN_WHEN = 'shownWhen';

/** The `.meta()` of an option that matters only under `when`. */
export const shownWhen = (when: ShownWhen): { [SHOWN_WHEN]: ShownWhen } => ({ [SHOWN_WHEN]: when });
