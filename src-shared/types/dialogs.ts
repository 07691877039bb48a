import { z } from 'zod';

/**
 * A file-type filter of an open dialog: a label and extensions without the dot (`tif`, `nc`), or `*`.
 * Extensions are plain alphanumerics so nothing the renderer sends becomes a pattern or a path.
 */
export const dialogFilterSchema = z.strictObject({
  name: z.string().min(1).max(100),
  extensions: z
    .array(
      z.string().regex(/^(\*|[A-Za-z0-9_]{1,16})$/, 'an extension is letters and digits without a dot, or *'),
    )
    .min(1)
    .max(32),
});
export type DialogFilter = z.infer<typeof dialogFilterSchema>;

/** `dialogs.open`: what the native open dialog asks for. */
export const openDialogInputSchema = z.strictObject({
  title: z.string().min(1).max(200),
  /** A file (or files) or a folder (or folders). */
  kind: z.enum(['file', 'folder']),
  /** File-type filters (files only; folders ignore them). */
  filters: z.array(dialogFilterSchema).max(16).optional(),
  /** Several may be chosen. */
  multi: z.boolean().optional(),
});
export type OpenDialogInput = z.input<typeof openDialogInputSchema>;

/** The chosen absolute paths, or `canceled` with none. */
export const openDialogResultSchema = z.object({
  canceled: z.boolean(),
  paths: z.array(z.string().max(4096)).max(1000),
});
export type OpenDialogResult = z.infer<typeof openDialogResultSchema>;

/** What this shell offers: native open dialogs (the desktop app) or not (the browser bridge, the CLI), and why. */
export const dialogCapabilitiesSchema = z.object({
  open: z.boolean(),
  reason: z.string().nullable(),
});
export type DialogCapabilities = z.infer<typeof dialogCapabilitiesSchema>;

/**
 * What the Electron preload exposes as `window.fieldcalFiles` beside `window.api`: the real path of a
 * dropped `File` (Electron's `webUtils.getPathForFile`), or null for a file that is not on disk. The
 * browser bridge has no such object: a page cannot learn where a dropped file lives.
 */
export interface FieldcalFiles {
  pathForFile(file: File): string | null;
}
