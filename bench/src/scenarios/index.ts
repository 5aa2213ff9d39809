import type { ScenarioName } from '../options.js';
import type { Scenario } from './common.js';
import { connectScenario } from './connect.js';
import { directScenario, directTextScenario } from './direct.js';
import { fanoutScenario, roomScenario } from './fanout.js';
import { reconnectStormScenario } from './reconnect-storm.js';

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  connect: connectScenario,
  fanout: fanoutScenario,
  direct: directScenario,
  room: roomScenario,
  'direct-text': directTextScenario,
  'reconnect-storm': reconnectStormScenario,
};

export { NotAvailable, Session, type Outcome, type Scenario, type ScenarioContext } from './common.js';
