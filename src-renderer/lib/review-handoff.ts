/**
 * What the review queue hands to the annotator when a result is marked defect: the image to
 * paint opens with its inspection heat map shown as a guide (pure module state, taken once).
 */
let showHeatFor: number | null = null;

/** The annotator opens `imageId` next with its heat map shown. */
export function showHeatmapNext(imageId: number): void {
  showHeatFor = imageId;
}

/** Whether the image just opened should show its heat map (true once, for the image handed over). */
export function takeHeatmapHandoff(imageId: number): boolean {
  if (showHeatFor !== imageId) return false;
  showHeatFor = null;
  return true;
}
