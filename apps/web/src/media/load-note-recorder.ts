/**
 * Loads the note recording module (`note-recorder.ts`) on first use; the module system keeps it
 * afterwards. Its own file because `note-recorder.ts` imports `recorder.ts`: a loader there would
 * make an import cycle.
 */
export function loadNoteRecorder(): Promise<typeof import('./note-recorder.ts')> {
  return import('./note-recorder.ts');
}
