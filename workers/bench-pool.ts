// piscina task module for benchmark scenario 4: an empty task, run as a group task (tracked()).
import { tracked } from '../src/integrations/piscina.js';

export default tracked(() => null);
