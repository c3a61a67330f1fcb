// The images Flowlab builds for labs, by the short names lab files use.

export interface LabImage {
  /** The short name a lab file writes as `image:`. */
  name: string;
  ref: string;
  /** Build context, relative to the project's images/ folder. */
  dir: string;
  /** Another Flowlab image this one is built on (built first); otherwise the Debian base. */
  base?: string;
  /** Whether lab files may use it (the console image is Flowlab's own). */
  forLabs: boolean;
}

export const LAB_IMAGES: readonly LabImage[] = [
  { name: 'toolbox', ref: 'flowlab/toolbox:latest', dir: 'toolbox', forLabs: true },
  { name: 'console', ref: 'flowlab/console:latest', dir: 'console', base: 'toolbox', forLabs: false },
];

export const TOOLBOX_REF = LAB_IMAGES[0]!.ref;
export const CONSOLE_REF = LAB_IMAGES[1]!.ref;

/** A Flowlab image lab files may name, by short name or reference. */
export function labImage(name: string): LabImage | undefined {
  return LAB_IMAGES.find((i) => i.forLabs && (i.name === name || i.ref === name));
}

/** The image reference Docker is given for a lab file's `image:` value. */
export function imageRef(image: string): string {
  return labImage(image)?.ref ?? image;
}
