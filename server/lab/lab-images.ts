// The images Flowlab builds for labs, by the short names lab files use.

export interface LabImage {
  /** The short name a lab file writes as `image:`. */
  name: string;
  ref: string;
  /** Build context, relative to the project's images/ folder. */
  dir: string;
}

export const LAB_IMAGES: readonly LabImage[] = [{ name: 'toolbox', ref: 'flowlab/toolbox:latest', dir: 'toolbox' }];

export const TOOLBOX_REF = LAB_IMAGES[0]!.ref;

export function labImage(name: string): LabImage | undefined {
  return LAB_IMAGES.find((i) => i.name === name || i.ref === name);
}

/** The image reference Docker is given for a lab file's `image:` value. */
export function imageRef(image: string): string {
  return labImage(image)?.ref ?? image;
}
