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
  /** Needed only by labs with nodes (a nested Docker engine per node): built the first time one starts. */
  forNodes?: boolean;
}

export const LAB_IMAGES: readonly LabImage[] = [
  { name: 'toolbox', ref: 'flowlab/toolbox:latest', dir: 'toolbox', forLabs: true },
  { name: 'console', ref: 'flowlab/console:latest', dir: 'console', base: 'toolbox', forLabs: false },
  { name: 'engine-node', ref: 'flowlab/engine-node:latest', dir: 'engine-node', forLabs: false, forNodes: true },
];

export const TOOLBOX_REF = LAB_IMAGES[0]!.ref;
export const CONSOLE_REF = LAB_IMAGES[1]!.ref;
export const ENGINE_NODE_REF = LAB_IMAGES[2]!.ref;

/** The images an engine needs for labs: every lab's, and the engine node's when a lab has nodes. */
export function imagesNeeded(opts: { nodes?: boolean } = {}): readonly LabImage[] {
  return LAB_IMAGES.filter((i) => !i.forNodes || opts.nodes);
}

/** A Flowlab image lab files may name, by short name or reference. */
export function labImage(name: string): LabImage | undefined {
  return LAB_IMAGES.find((i) => i.forLabs && (i.name === name || i.ref === name));
}

/** The image reference Docker is given for a lab file's `image:` value. */
export function imageRef(image: string): string {
  return labImage(image)?.ref ?? image;
}

/** The images a lab's containers run: its services' and the toolbox (resolver, captures, helpers). */
export function labImageRefs(lab: { services: Record<string, { image: string }> }): string[] {
  return [...new Set([TOOLBOX_REF, ...Object.values(lab.services).map((s) => imageRef(s.image))])];
}
