// Seeds 501..1000 of the cluster simulator (see helpers/sim.ts).
import { simSuite } from './helpers/sim-suite.js';

simSuite(501, 500);
