import { bird } from './bird.js';
import { frr } from './frr.js';
import { gobgp } from './gobgp.js';
import { tortie } from './tortie.js';
import type { Target } from './types.js';

export const TARGETS: Record<string, Target> = { bird, frr, gobgp, tortie };
export type { Target, RunningTarget, TargetContext } from './types.js';
