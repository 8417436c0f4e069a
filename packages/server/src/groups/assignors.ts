/** The assignors a member may ask for, by Kafka's names; sticky is the default. */
import type { AssignmentStrategy } from '@webka/protocol';
import type { Assignor } from './assignor.js';
import { rangeAssignor } from './range-assignor.js';
import { roundRobinAssignor } from './round-robin-assignor.js';
import { stickyAssignor } from './sticky-assignor.js';

export const ASSIGNORS: Record<AssignmentStrategy, Assignor> = {
  sticky: stickyAssignor,
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
};

export const DEFAULT_ASSIGNOR: AssignmentStrategy = 'sticky';
